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
}
