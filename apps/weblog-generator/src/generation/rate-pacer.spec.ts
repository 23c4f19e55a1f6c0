import { MAX_CATCH_UP_BATCH, RatePacer } from './rate-pacer';

describe('RatePacer', () => {
  it('spaces batches by the target rate', () => {
    const pacer = new RatePacer(1000, 0);
    expect(pacer.delayBeforeNext(0, 0)).toBe(0);
    expect(pacer.delayBeforeNext(100, 10)).toBe(90);
    expect(pacer.delayBeforeNext(500, 100)).toBe(400);
  });

  it('does not wait when behind schedule, so a slow send is caught up', () => {
    expect(new RatePacer(1000, 0).delayBeforeNext(100, 250)).toBe(0);
  });

  it('never waits at rate 0 (unlimited)', () => {
    expect(new RatePacer(0, 0).delayBeforeNext(1e6, 0)).toBe(0);
  });

  it('sends the configured batch while on schedule', () => {
    expect(new RatePacer(1000, 0).nextBatchSize(100, 100, 100)).toBe(100);
  });

  it('sends every record due when behind, so a rate above one batch per round trip is met', () => {
    // 10,000/s, 30 ms after the start, 100 sent: 300 are due, 200 of them not yet sent.
    expect(new RatePacer(10000, 0).nextBatchSize(100, 30, 100)).toBe(200);
  });

  it('caps a catch-up send', () => {
    expect(new RatePacer(1e6, 0).nextBatchSize(0, 60000, 100)).toBe(MAX_CATCH_UP_BATCH);
  });

  it('keeps the configured batch at rate 0', () => {
    expect(new RatePacer(0, 0).nextBatchSize(5000, 10, 2000)).toBe(2000);
  });
});
