/** Most records one send carries when catching up on the schedule. */
export const MAX_CATCH_UP_BATCH = 10_000;

/**
 * Paces records to a target rate by schedule: record i (from 0) is due `i / rate` seconds after the
 * start, and each send carries the records due by then, at most one send per time slice. A steady
 * rate goes out as a steady stream of small sends, not as one burst per batch; a slow send is
 * caught up on with a larger one. Rate 0 means as fast as Kafka acknowledges, in batches.
 */
export class RatePacer {
  private lastSendAt = -Infinity;

  constructor(
    private readonly recordsPerSecond: number,
    private readonly startedAt: number,
    private readonly sliceMs = 0,
  ) {}

  /** When record `index` (from 0) is due; undefined at rate 0. */
  dueAt(index: number): number | undefined {
    if (this.recordsPerSecond <= 0) return undefined;
    return this.startedAt + (index / this.recordsPerSecond) * 1000;
  }

  /** Milliseconds to wait before the next send when `sent` records have gone out so far. */
  delayBeforeNext(sent: number, now: number): number {
    const due = this.dueAt(sent);
    if (due === undefined) return 0;
    return Math.max(0, due - now, this.lastSendAt + this.sliceMs - now);
  }

  /**
   * Records for the send made now: at rate 0 the configured batch; otherwise every record due by
   * now and not yet sent (at least one, at most MAX_CATCH_UP_BATCH).
   */
  nextBatchSize(sent: number, now: number, batchSize: number): number {
    this.lastSendAt = now;
    if (this.recordsPerSecond <= 0) return batchSize;
    const due = Math.floor(((now - this.startedAt) / 1000) * this.recordsPerSecond) + 1;
    return Math.min(Math.max(1, due - sent), MAX_CATCH_UP_BATCH);
  }
}
