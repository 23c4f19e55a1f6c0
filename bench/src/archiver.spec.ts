import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ArchiveObjectRange, ArchiveStore } from '@weblog/s3-archive';
import {
  ArchiverRow,
  ArchiverRun,
  archiverTable,
  cpuMsPerObject,
  fastest,
  loopWrite,
  medianArchiverRun,
  medianRawRate,
  RawPutRate,
} from './archiver';

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

function loopRun(objectsPerSecond: number, cpuMs = 0.4, serverCpuMsPerObject?: number): RawPutRate {
  return {
    objectBytes: 5000,
    objects: objectsPerSecond * 15,
    objectsPerSecond,
    mibPerSecond: 1,
    cpuMsPerObject: cpuMs,
    ...(serverCpuMsPerObject === undefined ? {} : { serverCpuMsPerObject }),
  };
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

  it("takes the S3 server's CPU per object where runs have it, and leaves it out where none has", () => {
    expect(medianRawRate([loopRun(1500, 0.3, 1.4), loopRun(1200, 0.5, 1.1), loopRun(1300, 0.4, 1.2)]).serverCpuMsPerObject).toBe(1.2);
    expect(medianRawRate([loopRun(1500), loopRun(1200)])).not.toHaveProperty('serverCpuMsPerObject');
  });
});

describe('cpuMsPerObject', () => {
  it("is a process's CPU time between two readings, in ms an object, and nothing without both readings", () => {
    expect(cpuMsPerObject(10, 22.5, 10000)).toBe(1.25);
    expect(cpuMsPerObject(undefined, 22.5, 10000)).toBeUndefined();
    expect(cpuMsPerObject(10, undefined, 10000)).toBeUndefined();
    // No object stored: the time is not divided by zero.
    expect(cpuMsPerObject(10, 10.5, 0)).toBe(500);
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
  it("shows each round's archiver and loop rates, the S3 server's CPU beside each, and says how the rounds ran", () => {
    const row: ArchiverRow = {
      ...medianArchiverRun([
        archiverRun(900, { serverCpuMsPerObject: 1.3 }),
        archiverRun(1000, { serverCpuMsPerObject: 1.5 }),
        archiverRun(700, { serverCpuMsPerObject: 1.4 }),
      ]),
      flushSize: 10,
      s3ReplyDelayMs: 0,
      records: 200000,
      loopSeconds: 15,
      raw: loopRun(1200),
      best: { ...medianRawRate([loopRun(1500, 0.4, 1.1), loopRun(1400, 0.4, 1.2), loopRun(1450, 0.4, 1.0)]), concurrency: 32 },
      conditional: { ...medianRawRate([loopRun(1000, 0.5, 1.3), loopRun(1200, 0.5, 1.3), loopRun(1100, 0.5, 1.2)]), concurrency: 32 },
      sweep: [{ concurrency: 32, objectsPerSecond: 1500 }],
      rounds: [
        { objectsPerSecond: 900, bestObjectsPerSecond: 1500, conditionalObjectsPerSecond: 1000 },
        { objectsPerSecond: 1000, bestObjectsPerSecond: 1400, conditionalObjectsPerSecond: 1200 },
        { objectsPerSecond: 700, bestObjectsPerSecond: 1450, conditionalObjectsPerSecond: 1100 },
      ],
    };
    const text = archiverTable([row]);
    expect(text).toContain('| 900 | 900 (1500 / 1000), 1000 (1400 / 1200), 700 (1450 / 1100) |');
    // Round by round against the best loop of the same round: 900/1500, 1000/1400, 700/1450.
    expect(text).toContain('| 1450 (32) | 0.62x | 0.60x, 0.71x, 0.48x | 1100 (32) | 0.82x |');
    expect(text).toContain('| 1.4 / 1.1 / 1.3 |');
    expect(text).toContain('the medians of 3 rounds');
  });

  it('says what was not measured: no conditional loop, no S3 server of its own', () => {
    const row: ArchiverRow = {
      ...medianArchiverRun([archiverRun(900)]),
      flushSize: 10,
      s3ReplyDelayMs: 0,
      records: 200000,
      loopSeconds: 15,
      raw: loopRun(1200),
      best: { ...loopRun(1500), concurrency: 32 },
      sweep: [{ concurrency: 32, objectsPerSecond: 1500 }],
    };
    const text = archiverTable([row]);
    expect(text).toContain('| 1500 (32) | 0.60x | n/a | not measured | n/a |');
    expect(text).toContain('| not measured / not measured / not measured |');
  });
});

describe('loopWrite', () => {
  const body = Buffer.from('{"a":1}\n');

  /** A store that records what it is asked to write; `existing` keys answer as taken. */
  function recordingStore(existing: readonly string[] = []) {
    const puts: { key: string; lines: readonly Buffer[]; range: ArchiveObjectRange; compress: boolean }[] = [];
    const sent: unknown[] = [];
    const store = {
      bucket: 'bucket',
      client: { send: (command: unknown) => Promise.resolve(sent.push(command)) },
      putIfAbsent: (key: string, lines: readonly Buffer[], range: ArchiveObjectRange, compress: boolean) => {
        puts.push({ key, lines, range, compress });
        return Promise.resolve(
          existing.includes(key) ? { created: false, key, generation: 0, existing: range } : { created: true, key, generation: 0 },
        );
      },
    };
    return { store: store as unknown as ArchiveStore, puts, sent };
  }

  it("writes as the archiver does: its store's conditional write, archive keys and ranges of 10 offsets, partitions in turn", async () => {
    const { store, puts, sent } = recordingStore();
    const write = loopWrite(store, 'archiver', 'run-1', body);
    for (let i = 0; i < 4; i++) await write(i);
    expect(sent).toHaveLength(0);
    expect(puts.map((p) => p.key)).toEqual([
      'run-1/output/partition=0/output+0+00000000000000000000.jsonl',
      'run-1/output/partition=1/output+1+00000000000000000000.jsonl',
      'run-1/output/partition=2/output+2+00000000000000000000.jsonl',
      'run-1/output/partition=0/output+0+00000000000000000010.jsonl',
    ]);
    expect(puts[3]?.range).toEqual({ topic: 'output', partition: 0, firstOffset: 10n, lastOffset: 19n, recordCount: 10 });
    expect(puts.every((p) => p.lines.length === 1 && p.lines[0] === body && !p.compress)).toBe(true);
  });

  it('fails a write whose key was already taken, rather than counting it', async () => {
    const { store } = recordingStore(['run-1/output/partition=0/output+0+00000000000000000000.jsonl']);
    await expect(loopWrite(store, 'archiver', 'run-1', body)(0)).rejects.toThrow('existed');
  });

  it('writes a bare PutObject of the body under a key of its own in the plain loop', async () => {
    const { store, puts, sent } = recordingStore();
    await loopWrite(store, 'plain', 'run-2', body)(7);
    expect(puts).toHaveLength(0);
    const [command] = sent as PutObjectCommand[];
    expect(command).toBeInstanceOf(PutObjectCommand);
    expect(command?.input).toEqual({ Bucket: 'bucket', Key: 'run-2/7', Body: body });
  });
});
