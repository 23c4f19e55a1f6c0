/**
 * Exponential backoff with equal jitter: attempt n waits between half and all of
 * `initialMs * 2^(n-1)`, capped at `maxMs`, so instances that failed together do not retry together.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}
