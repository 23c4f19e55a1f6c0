import { LatencyHistogram } from './latency-histogram';

describe('LatencyHistogram', () => {
  it('estimates percentiles of a uniform spread within a bucket width (about 20%)', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    expect(histogram.quantile(0.5)).toBeGreaterThan(500 * 0.8);
    expect(histogram.quantile(0.5)).toBeLessThan(500 * 1.2);
    expect(histogram.quantile(0.99)).toBeGreaterThan(990 * 0.8);
    expect(histogram.quantile(0.99)).toBeLessThanOrEqual(1000);
    expect(histogram.count).toBe(1000);
    expect(histogram.max).toBe(1000);
  });

  it('answers 0 when empty and never more than the maximum seen', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.quantile(0.99)).toBe(0);
    histogram.record(3);
    expect(histogram.quantile(1)).toBeLessThanOrEqual(3);
  });
});
