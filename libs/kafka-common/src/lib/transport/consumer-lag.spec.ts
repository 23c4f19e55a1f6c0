import { partitionLag } from './consumer-lag';

describe('partitionLag', () => {
  it('counts the records after the committed offset, not after a batch in hand', () => {
    expect(partitionLag({ low: 0, high: 120, committed: 100 })).toBe(20);
    expect(partitionLag({ low: 0, high: 120, committed: 120 })).toBe(0);
  });

  it('counts every retained record for a group that never committed', () => {
    expect(partitionLag({ low: 30, high: 120, committed: -1 })).toBe(90);
  });

  it('is never negative, even when a topic was recreated under a committed offset', () => {
    expect(partitionLag({ low: 0, high: 5, committed: 100 })).toBe(0);
  });
});
