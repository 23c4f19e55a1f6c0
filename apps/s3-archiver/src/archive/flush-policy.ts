export type FlushReason = 'size' | 'time' | 'schedule' | 'partition' | 'window' | 'memory' | 'shutdown' | 'revoke';

export interface FlushPolicy {
  readonly flushSize: number;
  readonly rotateIntervalMs: number;
  /** Connect's `rotate.schedule.interval.ms` (0: off), on the wall clock of `localTime`. */
  readonly rotateScheduleIntervalMs: number;
  /** Local wall time of an instant in the configured time zone, so schedules start at local 00:00. */
  readonly localTime: (utcMs: number) => number;
}

/**
 * Why a partition's buffer should be written now, or undefined. Size wins over time; the time
 * rule is by wall clock since the first buffered record, so an idle partition still flushes; the
 * schedule rule writes whatever is buffered once the clock crosses a multiple of the schedule
 * interval after the first record arrived, as Connect's `rotate.schedule.interval.ms` does.
 */
export function flushReason(policy: FlushPolicy, size: number, openedAt: number | undefined, now: number): FlushReason | undefined {
  if (size === 0) return undefined;
  if (size >= policy.flushSize) return 'size';
  if (openedAt !== undefined && now - openedAt >= policy.rotateIntervalMs) return 'time';
  const every = policy.rotateScheduleIntervalMs;
  if (openedAt !== undefined && every > 0 && Math.floor(policy.localTime(now) / every) > Math.floor(policy.localTime(openedAt) / every))
    return 'schedule';
  return undefined;
}
