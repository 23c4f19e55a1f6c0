import { MAX_CATCH_UP_BATCH, RatePacer } from './rate-pacer';

describe('RatePacer', () => {
  it('waits until the next record is due', () => {
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

  it('sends what is due by now, not a batch ahead of the schedule', () => {
    // 1,000/s, 100 ms after the start: records 0..100 are due, 100 of them were sent.
    expect(new RatePacer(1000, 0).nextBatchSize(100, 100, 100)).toBe(1);
    expect(new RatePacer(1000, 0).nextBatchSize(95, 100, 100)).toBe(6);
  });

  it('sends every record due when behind, so a rate above one send per round trip is met', () => {
    // 10,000/s, 30 ms after the start, 100 sent: 301 are due, 201 of them not yet sent.
    expect(new RatePacer(10000, 0).nextBatchSize(100, 30, 100)).toBe(201);
  });

  it('makes at most one send per time slice', () => {
    const pacer = new RatePacer(1000, 0, 5);
    expect(pacer.nextBatchSize(0, 0, 100)).toBe(1);
    // Record 1 is due at 1 ms, but the slice that began at 0 lasts until 5 ms.
    expect(pacer.delayBeforeNext(1, 1)).toBe(4);
    expect(pacer.nextBatchSize(1, 5, 100)).toBe(5);
    expect(pacer.delayBeforeNext(6, 5)).toBe(5);
  });

  it('names when each record is due', () => {
    const pacer = new RatePacer(2000, 1000);
    expect([0, 1, 4].map((i) => pacer.dueAt(i))).toEqual([1000, 1000.5, 1002]);
    expect(new RatePacer(0, 1000).dueAt(3)).toBeUndefined();
  });

  it('caps a catch-up send', () => {
    expect(new RatePacer(1e6, 0).nextBatchSize(0, 60000, 100)).toBe(MAX_CATCH_UP_BATCH);
  });

  it('keeps the configured batch at rate 0', () => {
    expect(new RatePacer(0, 0).nextBatchSize(5000, 10, 2000)).toBe(2000);
  });
});
