import { RatePacer } from './rate-pacer';

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
});
