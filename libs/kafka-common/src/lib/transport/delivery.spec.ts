import { committedAfterOurs, DeferredProgress, TransactionalProgress, UNSTABLE } from './delivery';

describe('DeferredProgress (deferred mode: commit what the handler made durable, carried over markers)', () => {
  it('commits nothing before the handler reports anything durable', () => {
    const progress = new DeferredProgress();
    progress.took(9n, 9n);
    expect(progress.committable()).toBeUndefined();
  });

  it('carries the durable offset over the markers that end a taken batch', () => {
    const progress = new DeferredProgress();
    progress.took(9n, 11n);
    progress.report(5n);
    expect(progress.committable()).toBe(5n);
    progress.report(10n);
    expect(progress.committable()).toBe(12n);
  });

  it('carries it over a marker-only batch that follows a taken batch, once the batch before is durable', () => {
    const progress = new DeferredProgress();
    progress.took(9n, 9n);
    progress.markersOnly(12n);
    progress.report(4n);
    expect(progress.committable()).toBe(4n);
    progress.report(10n);
    expect(progress.committable()).toBe(13n);
  });

  it('never passes records the handler did not take: a declined batch leaves a gap no marker range crosses', () => {
    // Records 0-9 taken and durable; 10-19 declined (draining), so never resolved: kafkajs fetches
    // them again and the marker-only batch the broker sends after them cannot start before 10.
    const progress = new DeferredProgress();
    progress.took(9n, 9n);
    progress.report(10n);
    expect(progress.committable()).toBe(10n);
    // An aborted transaction at 20-21 seen as a marker-only batch is placed at the taken end (10), not at 20.
    progress.markersOnly(21n);
    // It is carried over only because it starts at 10, where the durable offset is; the test of the
    // transport shows kafkajs cannot deliver it before the declined records are taken.
    expect(progress.committable()).toBe(22n);
  });

  it('commits a marker-only batch at once when nothing was taken in this assignment (it starts at the committed offset)', () => {
    const progress = new DeferredProgress();
    progress.markersOnly(3n);
    expect(progress.committable()).toBe(4n);
  });

  it('never moves back when a report is lower than one before', () => {
    const progress = new DeferredProgress();
    progress.took(20n, 20n);
    progress.report(15n);
    progress.report(7n);
    expect(progress.committable()).toBe(15n);
  });

  it('keeps marker ranges sorted and passes several at once', () => {
    const progress = new DeferredProgress();
    progress.took(4n, 5n);
    progress.took(9n, 11n);
    progress.report(5n);
    expect(progress.committable()).toBe(6n);
    progress.report(10n);
    expect(progress.committable()).toBe(12n);
  });
});

describe('TransactionalProgress (exactly-once: the floor below which records are done)', () => {
  const batch = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ offset: String(from + i) }));

  it('is in doubt at start and after a failed transaction, not after its own commit', () => {
    const progress = new TransactionalProgress();
    expect(progress.inDoubt(0n)).toBe(true);
    progress.resynced(-1n);
    progress.done(9n);
    expect(progress.inDoubt(10n)).toBe(false);
    progress.doubt();
    expect(progress.inDoubt(10n)).toBe(true);
  });

  it('skips the records below the committed offset of a resync', () => {
    const progress = new TransactionalProgress();
    progress.resynced(5n);
    expect(progress.pending(batch(0, 9)).map((m) => m.offset)).toEqual(['5', '6', '7', '8', '9']);
  });

  it('does not rewind when a whole re-fetched batch lies below a committed offset further ahead', () => {
    // Committed 150; the re-fetch brings 0-49, all done. The next batch, 50-99, follows "our" last
    // position but is below 150 too: it must not be transformed again, and no commit may move back.
    const progress = new TransactionalProgress();
    progress.resynced(150n);
    expect(progress.pending(batch(0, 49))).toEqual([]);
    progress.done(49n);
    expect(progress.inDoubt(50n)).toBe(false);
    expect(progress.pending(batch(50, 99))).toEqual([]);
    progress.done(99n);
    expect(progress.pending(batch(100, 199)).map((m) => m.offset)[0]).toBe('150');
  });

  it("takes a later resync's committed offset as it is (a reset or a recreated topic moves it back)", () => {
    const progress = new TransactionalProgress();
    progress.resynced(100n);
    progress.resynced(0n);
    expect(progress.pending(batch(0, 9))).toHaveLength(10);
  });
});

describe('committedAfterOurs (exactly-once resync: read stable, and not behind our own commit)', () => {
  const readings = (...offsets: (bigint | typeof UNSTABLE)[]) => {
    let i = 0;
    return () => Promise.resolve(offsets[Math.min(i++, offsets.length - 1)] ?? -1n);
  };
  const limits = { limitMs: 5000, unstableMs: 5000, pauseMs: 1 };

  it('reads again while the group serves an offset older than our own last commit', async () => {
    expect(await committedAfterOurs(readings(1800n, 1800n, 1866n), 1866n, limits)).toEqual({ offset: 1866n, caughtUp: true });
  });

  it('takes the first reading when we committed nothing, or it is not behind', async () => {
    expect(await committedAfterOurs(readings(40n, 99n), undefined, limits)).toEqual({ offset: 40n, caughtUp: true });
    expect(await committedAfterOurs(readings(2000n), 1866n, limits)).toEqual({ offset: 2000n, caughtUp: true });
  });

  it('takes an offset that stays below ours past the limit as a reset', async () => {
    expect(await committedAfterOurs(readings(-1n), 1866n, { ...limits, limitMs: 30, pauseMs: 5 })).toEqual({
      offset: -1n,
      caughtUp: false,
    });
  });

  it('reads again while a transaction still holds the offset, and takes what it leaves', async () => {
    expect(await committedAfterOurs(readings(UNSTABLE, UNSTABLE, 1900n), undefined, limits)).toEqual({ offset: 1900n, caughtUp: true });
  });

  it('calls an offset held past the unstable limit hanging, never a reading to take', async () => {
    expect(await committedAfterOurs(readings(UNSTABLE), 1866n, { ...limits, unstableMs: 30, pauseMs: 5 })).toEqual({ hanging: true });
  });
});

describe('TransactionalProgress: our own commits', () => {
  it('remembers what our last transaction committed, and forgets it once a reset below it is taken', () => {
    const progress = new TransactionalProgress();
    expect(progress.committedByUs).toBeUndefined();
    progress.committed(1865n);
    expect(progress.committedByUs).toBe(1866n);
    expect(progress.inDoubt(1866n)).toBe(false);
    progress.doubt();
    progress.resynced(1866n);
    expect(progress.committedByUs).toBe(1866n);
    progress.resynced(-1n);
    expect(progress.committedByUs).toBeUndefined();
  });
});

describe('TransactionalProgress: the commit we sent last', () => {
  it('knows where it ends, answered or not, while only our own producers initialise the id', () => {
    const progress = new TransactionalProgress();
    progress.initialised(7, 3);
    progress.committing(19n);
    progress.doubt();
    expect(progress.commitSent).toBe(20n);
    // The resync's InitProducerId: the next epoch, so no other producer came in between.
    progress.initialised(7, 4);
    expect(progress.commitSent).toBe(20n);
  });

  it('forgets it once another producer initialised the id (an epoch skipped, or a new producer id)', () => {
    const skipped = new TransactionalProgress();
    skipped.initialised(7, 3);
    skipped.committing(19n);
    skipped.initialised(7, 5);
    expect(skipped.commitSent).toBeUndefined();
    const renewed = new TransactionalProgress();
    renewed.initialised(7, 3);
    renewed.committing(19n);
    renewed.initialised(8, 0);
    expect(renewed.commitSent).toBeUndefined();
  });

  it('forgets it when the resync finds the commit did not happen (the group stays below it)', () => {
    const progress = new TransactionalProgress();
    progress.initialised(7, 3);
    progress.committing(19n);
    progress.resynced(10n);
    expect(progress.commitSent).toBeUndefined();
  });
});
