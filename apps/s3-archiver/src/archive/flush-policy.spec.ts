import { localTimeMs } from '@weblog/s3-archive';
import { flushReason } from './flush-policy';

const policy = { flushSize: 10, rotateIntervalMs: 10000, rotateScheduleIntervalMs: 0, localTime: (t: number) => t };

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

  it('flushes on the rotate schedule at every multiple of the interval from local midnight, however young the buffer', () => {
    const hourly = { ...policy, rotateIntervalMs: 86400000, rotateScheduleIntervalMs: 3600000 };
    expect(flushReason(hourly, 1, Date.parse('2026-11-23T10:59:59Z'), Date.parse('2026-11-23T10:59:59.999Z'))).toBeUndefined();
    expect(flushReason(hourly, 1, Date.parse('2026-11-23T10:59:59Z'), Date.parse('2026-11-23T11:00:00Z'))).toBe('schedule');
    // In Kolkata (UTC+05:30) the hours turn at half past the UTC hour.
    const kolkata = { ...hourly, localTime: (t: number) => localTimeMs(t, 'Asia/Kolkata') };
    expect(flushReason(kolkata, 1, Date.parse('2026-11-23T10:59:00Z'), Date.parse('2026-11-23T11:00:00Z'))).toBeUndefined();
    expect(flushReason(kolkata, 1, Date.parse('2026-11-23T10:59:00Z'), Date.parse('2026-11-23T11:30:00Z'))).toBe('schedule');
  });
});
