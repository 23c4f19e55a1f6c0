/**
 * Per partition, the highest offset already counted. The verifier commits nothing (its accounting
 * lives in memory and is rebuilt from the whole topic on every start), so every rejoin of its group
 * hands it each partition from the beginning again: a record at or below the mark is that
 * redelivery, not a second record. A record produced twice sits at another offset and is still
 * counted, and judged a duplicate by its run and sequence.
 */
export class DeliveryMarks {
  private readonly marks = new Map<string, bigint>();

  /**
   * Before a batch: a partition whose log now ends at or below its mark was recreated (or its log
   * truncated), its offsets start over, and records from there on are new. True when that forgot the mark.
   */
  restartedBelow(topic: string, partition: number, highWatermark: string): boolean {
    const key = `${topic}/${partition}`;
    const mark = this.marks.get(key);
    if (mark === undefined || BigInt(highWatermark) > mark) return false;
    this.marks.delete(key);
    return true;
  }

  /** The transport saw the partition's offsets start again within one assignment (a recreated topic): forget its mark. */
  forget(topic: string, partition: number): void {
    this.marks.delete(`${topic}/${partition}`);
  }

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
