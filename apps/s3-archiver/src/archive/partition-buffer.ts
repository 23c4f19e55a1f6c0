/** One record waiting in a partition's buffer: its offset, its archive line, its time and its time partition. */
export interface BufferedRecord {
  readonly offset: bigint;
  readonly line: Buffer;
  readonly timestamp: number;
  /** The time partition path the record is filed under ('' in the offset layout). */
  readonly timePath: string;
}

/** Why an object ends where it does: full, the next record is of another time partition, or the window ended. */
export type ObjectEnd = 'size' | 'partition' | 'window';

/** The next object of a window: its records (oldest first) and why it ends there. */
export interface PlannedObject {
  readonly records: readonly BufferedRecord[];
  readonly end: ObjectEnd | 'tail';
}

/** The records of one offset window, oldest first, with the wall-clock time each arrived. */
interface Window {
  records: BufferedRecord[];
  arrivals: number[];
}

/**
 * The archive state of one partition. Offsets move through three marks: everything below
 * `committable()` is in S3 or in the dead-letter topic; records from there on are in the buffer;
 * `nextOffset` is the first offset not seen yet. Redelivered records (after a failed batch or a
 * rebalance) are recognised by offset and not buffered twice.
 *
 * Records are held by window: offsets [k x size, (k + 1) x size) with size the flush size. No
 * object crosses a window's end, so every writer of the partition, whatever its history, starts an
 * object at the first record of each window: windows can be written at the same time without two
 * writers' objects ever overlapping. Within a window objects follow one another (see PartitionArchive).
 */
export class PartitionBuffer {
  /** The windows that hold records, by index; a Map keeps them in the order they were opened, which is offset order. */
  private readonly windows = new Map<bigint, Window>();
  /** The window of the newest record seen: only it can still get records. */
  private newest: bigint | undefined;
  private count = 0;
  private byteCount = 0;
  /** First offset not seen yet; undefined until the first record. */
  private next: bigint | undefined;
  private readonly windowOffsets: bigint;

  constructor(readonly flushSize: number) {
    this.windowOffsets = BigInt(flushSize);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Time of the oldest buffered record (its Kafka timestamp), for the oldest-record age metric. */
  get oldestRecordTime(): number | undefined {
    return this.oldest()?.records[0]?.timestamp;
  }

  /**
   * The records of the windows not in `busy` (the ones being written): how many, and when the
   * oldest of them arrived. They are what waits for the flush rules.
   */
  waiting(busy: ReadonlyMap<bigint, unknown>): { readonly size: number; readonly openedAt: number | undefined } {
    let size = 0;
    let openedAt: number | undefined;
    for (const [index, window] of this.windows) {
      if (busy.has(index)) continue;
      size += window.records.length;
      openedAt ??= window.arrivals[0];
    }
    return { size, openedAt };
  }

  /** True while the record at `offset` is buffered (not yet known to be in S3). */
  holds(offset: bigint): boolean {
    return this.windows.get(offset / this.windowOffsets)?.records.some((r) => r.offset === offset) ?? false;
  }

  /** How many windows hold records. */
  get windowCount(): number {
    return this.windows.size;
  }

  /** The windows that hold records, oldest first. */
  get windowIndexes(): bigint[] {
    return [...this.windows.keys()];
  }

  /** The last offset of the window an offset belongs to. */
  windowEnd(offset: bigint): bigint {
    return (offset / this.windowOffsets + 1n) * this.windowOffsets - 1n;
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
    const index = record.offset / this.windowOffsets;
    let window = this.windows.get(index);
    if (!window) {
      window = { records: [], arrivals: [] };
      this.windows.set(index, window);
      this.newest = index;
    }
    window.records.push(record);
    window.arrivals.push(now);
    this.count++;
    this.byteCount += record.line.length;
    this.next = record.offset + 1n;
  }

  /**
   * The next object of a window: from its oldest record, up to `flush size` records of one time
   * partition. It ends for its size, because a record of another time partition follows it, or
   * because the window can get no more records (a later window has records); otherwise it is the
   * open tail of the newest window, written only by a timed or final flush.
   */
  nextObject(index: bigint): PlannedObject | undefined {
    const window = this.windows.get(index);
    const first = window?.records[0];
    if (!window || !first) return undefined;
    let n = 1;
    while (n < this.flushSize && n < window.records.length && window.records[n]?.timePath === first.timePath) n++;
    const records = window.records.slice(0, n);
    if (n === this.flushSize) return { records, end: 'size' };
    if (n < window.records.length) return { records, end: 'partition' };
    return { records, end: index === this.newest ? 'tail' : 'window' };
  }

  /**
   * Removes the buffered records from `first` through `last` (an object now in S3, ours or one
   * someone else wrote), and counts every offset through `last` as seen.
   */
  dropRange(first: bigint, last: bigint): void {
    for (let index = first / this.windowOffsets; index <= last / this.windowOffsets; index++) {
      const window = this.windows.get(index);
      if (!window) continue;
      let from = 0;
      while (from < window.records.length && (window.records[from]?.offset ?? first) < first) from++;
      let to = from;
      while (to < window.records.length && (window.records[to]?.offset ?? last + 1n) <= last) {
        this.byteCount -= window.records[to]?.line.length ?? 0;
        to++;
      }
      this.count -= to - from;
      window.records.splice(from, to - from);
      window.arrivals.splice(from, to - from);
      if (window.records.length === 0) this.windows.delete(index);
    }
    if (this.next === undefined || this.next <= last) this.next = last + 1n;
  }

  /** The offset that may be committed: the first buffered record, or the next unseen one. */
  committable(): bigint | undefined {
    return this.oldest()?.records[0]?.offset ?? this.next;
  }

  private oldest(): Window | undefined {
    for (const window of this.windows.values()) return window;
    return undefined;
  }
}
