/**
 * A fixed-bucket latency histogram (1 ms to about 10 min, 12 buckets per power of ten): constant
 * memory per run, percentiles within a bucket's width, as Prometheus would estimate them.
 */
export class LatencyHistogram {
  private static readonly bounds: number[] = Array.from({ length: 12 * 6 + 1 }, (_, i) => 10 ** (i / 12));
  private readonly counts = new Array<number>(LatencyHistogram.bounds.length + 1).fill(0);
  private total = 0;
  private maximum = 0;

  record(ms: number): void {
    const value = Math.max(0, ms);
    let index = LatencyHistogram.bounds.findIndex((bound) => value <= bound);
    if (index === -1) index = LatencyHistogram.bounds.length;
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total++;
    this.maximum = Math.max(this.maximum, value);
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maximum;
  }

  /** The q-quantile in ms (0 < q <= 1), interpolated inside its bucket; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = q * this.total;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i] ?? 0;
      if (seen + inBucket >= rank && inBucket > 0) {
        const lower = i === 0 ? 0 : (LatencyHistogram.bounds[i - 1] ?? 0);
        const upper = Math.min(LatencyHistogram.bounds[i] ?? this.maximum, this.maximum);
        return lower + (upper - lower) * ((rank - seen) / inBucket);
      }
      seen += inBucket;
    }
    return this.maximum;
  }
}
