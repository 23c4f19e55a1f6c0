/**
 * Per partition, the highest offset already counted. The verifier commits nothing (its accounting
 * lives in memory and is rebuilt from the whole topic on every start), so every rejoin of its group
 * hands it each partition from the beginning again: a record at or below the mark is that
 * redelivery, not a second record. A record produced twice sits at another offset and is still
 * counted, and judged a duplicate by its run and sequence.
 */
export class DeliveryMarks {
  private readonly marks = new Map<string, bigint>();

  /** True when the offset was counted already. */
  seen(topic: string, partition: number, offset: string): boolean {
    const mark = this.marks.get(`${topic}/${partition}`);
    return mark !== undefined && BigInt(offset) <= mark;
  }

  /** Call once the record is fully counted: a batch that fails before then is redelivered and counted then. */
  counted(topic: string, partition: number, offset: string): void {
    const key = `${topic}/${partition}`;
    const value = BigInt(offset);
    const mark = this.marks.get(key);
    if (mark === undefined || value > mark) this.marks.set(key, value);
  }
}
