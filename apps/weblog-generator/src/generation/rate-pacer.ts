/** Most records one send carries when catching up on the schedule. */
export const MAX_CATCH_UP_BATCH = 10_000;

/**
 * Paces batches to a target rate by schedule, not by sleeping a fixed time after each send: a slow
 * send is caught up on, so the rate holds on average. Rate 0 means as fast as Kafka acknowledges.
 */
export class RatePacer {
  private readonly startedAt: number;

  constructor(
    private readonly recordsPerSecond: number,
    now: number,
  ) {
    this.startedAt = now;
  }

  /** Milliseconds to wait before sending when `sent` records have gone out so far. */
  delayBeforeNext(sent: number, now: number): number {
    if (this.recordsPerSecond <= 0) return 0;
    const due = this.startedAt + (sent / this.recordsPerSecond) * 1000;
    return Math.max(0, due - now);
  }

  /**
   * Records for the next send: the configured batch, or, when the sends so far have fallen behind
   * the schedule, every record due by now (up to MAX_CATCH_UP_BATCH). A rate above what one batch
   * per acknowledgement round trip can carry is then still met, with larger batches.
   */
  nextBatchSize(sent: number, now: number, batchSize: number): number {
    if (this.recordsPerSecond <= 0) return batchSize;
    const due = Math.floor(((now - this.startedAt) / 1000) * this.recordsPerSecond);
    return Math.min(Math.max(batchSize, due - sent), Math.max(batchSize, MAX_CATCH_UP_BATCH));
  }
}
