/** One record waiting in a partition's buffer: its offset, its archive line, its time and its time partition. */
export interface BufferedRecord {
  readonly offset: bigint;
  readonly line: Buffer;
  readonly timestamp: number;
  /** The time partition path the record is filed under ('' in the offset layout). */
  readonly timePath: string;
}

/**
 * The archive state of one partition. Offsets move through three marks:
 * everything below `committable()` is in S3 or in the dead-letter topic; records from there on
 * are in the buffer; `nextOffset` is the first offset not seen yet. Redelivered records (after a
 * failed batch or a rebalance) are recognised by offset and not buffered twice.
 */
export class PartitionBuffer {
  private records: BufferedRecord[] = [];
  private arrivals: number[] = [];
  private byteCount = 0;
  /** First offset not seen yet; undefined until the first record. */
  private next: bigint | undefined;

  get size(): number {
    return this.records.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Wall-clock time the oldest buffered record arrived, for the rotate interval. */
  get openedAt(): number | undefined {
    return this.arrivals[0];
  }

  /** Time of the oldest buffered record (its Kafka timestamp), for the oldest-record age metric. */
  get oldestRecordTime(): number | undefined {
    return this.records[0]?.timestamp;
  }

  /** The time partition of what the buffer holds: the archiver writes it out before taking a record of another. */
  get timePath(): string | undefined {
    return this.records[0]?.timePath;
  }

  /** True when the record was already seen (a redelivery) and must be ignored. */
  seen(offset: bigint): boolean {
    return this.next !== undefined && offset < this.next;
  }

  /** Marks an offset as handled without buffering it (dead-lettered, or already archived elsewhere). */
  skip(offset: bigint): void {
    if (this.next === undefined || offset >= this.next) this.next = offset + 1n;
  }

  append(record: BufferedRecord, now: number): void {
    this.records.push(record);
    this.arrivals.push(now);
    this.byteCount += record.line.length;
    this.next = record.offset + 1n;
  }

  /** The oldest `count` records, still in the buffer until `drop` says they are archived. */
  peek(count: number): readonly BufferedRecord[] {
    return this.records.slice(0, count);
  }

  /** Removes every buffered record at or below `lastOffset` (archived by us or by someone else). */
  dropThrough(lastOffset: bigint): void {
    let index = 0;
    while (index < this.records.length && this.records[index].offset <= lastOffset) index++;
    if (index === 0) return;
    for (const record of this.records.slice(0, index)) this.byteCount -= record.line.length;
    this.records = this.records.slice(index);
    this.arrivals = this.arrivals.slice(index);
    if (this.next === undefined || this.next <= lastOffset) this.next = lastOffset + 1n;
  }

  /** The offset that may be committed: the first buffered record, or the next unseen one. */
  committable(): bigint | undefined {
    return this.records[0]?.offset ?? this.next;
  }
}
