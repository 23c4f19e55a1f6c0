import { ArchiverRow, ArchiverRun, archiverTable, fastest, medianArchiverRun, medianRawRate, RawPutRate } from './archiver';

function archiverRun(objectsPerSecond: number, extra: Partial<ArchiverRun> = {}): ArchiverRun {
  return {
    startupSeconds: 1,
    totalSeconds: 20,
    sustainedPerSecond: objectsPerSecond * 10,
    lateVsEarly: 1,
    peakRssMiB: 200,
    cpuSeconds: 10,
    objects: 20000,
    averageObjectBytes: 5000,
    objectsPerSecond,
    sample: 'key',
    ...extra,
  };
}

function loopRun(objectsPerSecond: number, cpuMsPerObject = 0.4): RawPutRate {
  return { objectBytes: 5000, objects: objectsPerSecond * 15, objectsPerSecond, mibPerSecond: 1, cpuMsPerObject };
}

describe('medianArchiverRun', () => {
  it("takes each figure's median on its own", () => {
    const row = medianArchiverRun([
      archiverRun(900, { cpuSeconds: 30 }),
      archiverRun(1000, { cpuSeconds: 10 }),
      archiverRun(700, { cpuSeconds: 12 }),
    ]);
    // Not the means (866.7, 17.3), nor the middle run's figures taken whole.
    expect(row.objectsPerSecond).toBe(900);
    expect(row.cpuSeconds).toBe(12);
    expect(row.sustainedPerSecond).toBe(9000);
  });

  it('keeps the profile of a single run only, and refuses no run at all', () => {
    const profile = { windows: [], stacks: { 'S3 client': 50 } };
    expect(medianArchiverRun([archiverRun(900, { profile })]).profile).toBe(profile);
    expect(medianArchiverRun([archiverRun(900, { profile }), archiverRun(800)])).not.toHaveProperty('profile');
    expect(() => medianArchiverRun([])).toThrow('no runs');
  });
});

describe('medianRawRate', () => {
  it('takes the lower middle of an even count for each figure', () => {
    expect(medianRawRate([loopRun(1500, 0.3), loopRun(1200, 0.5)])).toMatchObject({ objectsPerSecond: 1200, cpuMsPerObject: 0.3 });
    expect(() => medianRawRate([])).toThrow('no runs');
  });
});

describe('fastest', () => {
  it('is the concurrency of the highest rate, the first of equals', () => {
    expect(
      fastest([
        { concurrency: 1, objectsPerSecond: 100 },
        { concurrency: 32, objectsPerSecond: 1400 },
        { concurrency: 64, objectsPerSecond: 1400 },
      ]),
    ).toBe(32);
  });
});

describe('archiverTable', () => {
  it("shows each round's archiver and best-loop rates and says how the rounds ran", () => {
    const row: ArchiverRow = {
      ...medianArchiverRun([archiverRun(900), archiverRun(1000), archiverRun(700)]),
      flushSize: 10,
      s3ReplyDelayMs: 0,
      records: 200000,
      raw: loopRun(1200),
      best: { ...medianRawRate([loopRun(1500), loopRun(1400), loopRun(1450)]), concurrency: 32 },
      sweep: [{ concurrency: 32, objectsPerSecond: 1500 }],
      rounds: [
        { objectsPerSecond: 900, bestObjectsPerSecond: 1500 },
        { objectsPerSecond: 1000, bestObjectsPerSecond: 1400 },
        { objectsPerSecond: 700, bestObjectsPerSecond: 1450 },
      ],
    };
    const text = archiverTable([row]);
    expect(text).toContain('| 900 | 900 (1500), 1000 (1400), 700 (1450) |');
    expect(text).toContain('| 1450 (32) | 0.62x |');
    expect(text).toContain('the medians of 3 rounds');
  });
});
