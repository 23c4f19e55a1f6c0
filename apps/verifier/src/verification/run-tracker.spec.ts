import { RunTracker } from './run-tracker';

describe('RunTracker', () => {
  it('reports a complete run: nothing missing, duplicated or out of order', () => {
    const tracker = new RunTracker();
    for (let seq = 1; seq <= 100; seq++) tracker.observe('run', seq, `k${seq % 5}`, seq);
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
    tracker.observe('b', 1, 'x', 5);
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
});
