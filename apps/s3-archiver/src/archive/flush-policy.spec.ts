import { flushReason } from './flush-policy';

const policy = { flushSize: 10, rotateIntervalMs: 10000 };

describe('flushReason', () => {
  it('flushes by size at the flush size', () => {
    expect(flushReason(policy, 9, 0, 1)).toBeUndefined();
    expect(flushReason(policy, 10, 0, 1)).toBe('size');
  });

  it('flushes by wall-clock time since the first buffered record, even with no new records', () => {
    expect(flushReason(policy, 3, 1000, 10999)).toBeUndefined();
    expect(flushReason(policy, 3, 1000, 11000)).toBe('time');
  });

  it('never flushes an empty buffer', () => {
    expect(flushReason(policy, 0, undefined, 1e12)).toBeUndefined();
  });
});
