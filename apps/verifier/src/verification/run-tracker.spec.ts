import { RunTracker } from './run-tracker';

describe('RunTracker', () => {
  it('reports a complete run: nothing missing, duplicated or out of order', () => {
    const tracker = new RunTracker();
    for (let seq = 1; seq <= 100; seq++) tracker.observe('run', seq, `k${seq % 5}`, { producedAt: seq, latencyMs: seq });
    expect(tracker.reports()).toEqual([
      expect.objectContaining({
        runId: 'run',
        expected: 100,
        received: 100,
        unique: 100,
        missing: 0,
        missingRanges: [],
        duplicates: 0,
        outOfOrder: 0,
      }),
    ]);
  });

  it('counts gaps, duplicates and reordering per key separately per run', () => {
    const tracker = new RunTracker();
    for (const seq of [1, 2, 4, 3, 3, 6]) tracker.observe('a', seq, 'same-key', undefined);
    tracker.observe('b', 1, 'x', { producedAt: 1000, latencyMs: 5 });
    const [a, b] = tracker.reports();
    expect(a).toMatchObject({ expected: 6, received: 6, unique: 5, missing: 1, missingRanges: [[5, 5]], duplicates: 1, outOfOrder: 1 });
    expect(b).toMatchObject({ expected: 1, missing: 0, latencyMs: expect.objectContaining({ count: 1 }) });
  });

  it('does not call records of different keys out of order', () => {
    const tracker = new RunTracker();
    tracker.observe('r', 2, 'k1', undefined);
    tracker.observe('r', 1, 'k2', undefined);
    expect(tracker.reports()[0]?.outOfOrder).toBe(0);
  });

  it('does not call keyless records out of order, but still counts them and their duplicates', () => {
    const tracker = new RunTracker();
    for (const seq of [3, 1, 2, 2]) tracker.observe('r', seq, undefined, undefined);
    expect(tracker.reports()[0]).toMatchObject({ unique: 3, missing: 0, duplicates: 1, outOfOrder: 0 });
  });

  it('judges order per key even beside keyless records', () => {
    const tracker = new RunTracker();
    tracker.observe('r', 2, 'k', undefined);
    tracker.observe('r', 3, undefined, undefined);
    tracker.observe('r', 1, 'k', undefined);
    expect(tracker.reports()[0]?.outOfOrder).toBe(1);
  });

  it('names the most recently active runs first and keeps only as many as asked for', () => {
    const tracker = new RunTracker();
    for (const run of ['r1', 'r2', 'r3', 'r4']) tracker.observe(run, 1, 'k', undefined);
    tracker.observe('r2', 2, 'k', undefined);
    expect(tracker.recentReports(2).map((r) => r.runId)).toEqual(['r2', 'r4']);
    expect(tracker.recentReports(10).map((r) => r.runId)).toEqual(['r2', 'r4', 'r3', 'r1']);
    // The full report still holds every run.
    expect(tracker.reports()).toHaveLength(4);
  });

  it("splits latency into the run's start-up and its steady state by produce time", () => {
    const tracker = new RunTracker(20_000);
    // 30 s at one record a second: the first 20 s wait on start-up, the rest arrive in 10 ms.
    for (let second = 0; second < 30; second++) {
      const producedAt = 1_000_000 + second * 1000;
      tracker.observe('r', second + 1, 'k', { producedAt, latencyMs: second < 20 ? 500 : 10 });
    }
    const [run] = tracker.reports();
    expect(run).toMatchObject({ latencyWarmupMs: 20_000 });
    expect(run?.startupLatencyMs).toMatchObject({ count: 20, max: 500 });
    expect(run?.steadyLatencyMs).toMatchObject({ count: 10, max: 10 });
    expect(run?.steadyLatencyMs.p99).toBeLessThanOrEqual(10);
    expect(run?.latencyMs.count).toBe(30);
  });

  it('splits the steady latency at the record timestamp, and leaves start-up and unstamped records out of the split', () => {
    const tracker = new RunTracker(1000);
    // Start-up: stamped, but not split.
    tracker.observe('r', 1, 'k', { producedAt: 0, latencyMs: 900, recordTimestamp: 800 });
    // Steady: 3 ms until the record timestamp, then 7 ms; 40 ms then 2 ms; one without a stamp.
    tracker.observe('r', 2, 'k', { producedAt: 2000, latencyMs: 10, recordTimestamp: 2003 });
    tracker.observe('r', 3, 'k', { producedAt: 3000, latencyMs: 42, recordTimestamp: 3040 });
    tracker.observe('r', 4, 'k', { producedAt: 4000, latencyMs: 5 });
    // A timestamp before the produce stamp counts as 0 before it, never below.
    tracker.observe('r', 5, 'k', { producedAt: 5000, latencyMs: 6, recordTimestamp: 4999 });
    const [run] = tracker.reports();
    expect(run?.steadyLatencyMs).toMatchObject({ count: 4, max: 42 });
    expect(run?.steadyBeforeRecordTimestampMs).toMatchObject({ count: 3, max: 40 });
    expect(run?.steadyAfterRecordTimestampMs).toMatchObject({ count: 3, max: 7 });
  });

  it('measures the warm-up from the earliest produce stamp, whichever partition brought it', () => {
    const tracker = new RunTracker(1000);
    tracker.observe('r', 2, 'a', { producedAt: 5000, latencyMs: 1 });
    tracker.observe('r', 1, 'b', { producedAt: 3000, latencyMs: 2 });
    tracker.observe('r', 3, 'b', { producedAt: 3500, latencyMs: 3 });
    const [run] = tracker.reports();
    // 5000 was judged against a start of 5000 (start-up); 3500 is within 1 s of 3000 (start-up).
    expect(run?.startupLatencyMs.count).toBe(3);
    tracker.observe('r', 4, 'b', { producedAt: 4100, latencyMs: 4 });
    expect(tracker.reports()[0]?.steadyLatencyMs).toMatchObject({ count: 1, max: 4 });
  });
});
