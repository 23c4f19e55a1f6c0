export type FlushReason = 'size' | 'time' | 'memory' | 'shutdown' | 'revoke';

export interface FlushPolicy {
  readonly flushSize: number;
  readonly rotateIntervalMs: number;
}

/**
 * Why a partition's buffer should be written now, or undefined. Size wins over time; the time
 * rule is by wall clock since the first buffered record, so an idle partition still flushes.
 */
export function flushReason(policy: FlushPolicy, size: number, openedAt: number | undefined, now: number): FlushReason | undefined {
  if (size === 0) return undefined;
  if (size >= policy.flushSize) return 'size';
  if (openedAt !== undefined && now - openedAt >= policy.rotateIntervalMs) return 'time';
  return undefined;
}
