import { Ledger } from './ledger';
import { inMode, judge, SCENARIOS, ScenarioResult, scenariosOf } from './scenarios';
import { resultsTable } from './suite';

const ledger: Ledger = {
  generated: 1000,
  resentByProducers: 0,
  neverWritten: 0,
  missing: 0,
  duplicatedOutput: 0,
  altered: 0,
  unexpectedOutput: 0,
  deadLettered: 46,
  badSent: 46,
  badMisfiled: [],
  missingInS3: 0,
  duplicatedInS3: 0,
  unexpectedInS3: 0,
  earlierIncarnationInS3: 0,
  archiveProblems: 0,
  s3Examples: [],
};

const noS3Difference = { missing: 0, duplicated: 0, unexpected: 0 };

const passing: ScenarioResult = {
  scenario: 'broker-restart',
  title: 'broker',
  mode: 'exactly-once',
  profile: 'short',
  seconds: 30,
  faults: [],
  generated: 1000,
  verified: 1000,
  missing: 0,
  verifierMissing: 0,
  neverWritten: 0,
  duplicatedOutput: 0,
  verifierDuplicates: 0,
  outOfOrder: 0,
  resentByProducers: 0,
  altered: 0,
  missingInS3: 0,
  duplicatedInS3: 0,
  unexpectedInS3: 0,
  s3: { ledger: noS3Difference, audit: noS3Difference },
  earlierIncarnationRecords: null,
  outOfOrderInS3: 0,
  earlierIncarnationInS3: 0,
  archiveProblems: 0,
  s3Examples: [],
  deadLettered: 46,
  badSent: 46,
  badKinds: 46,
  recoverySeconds: 12.5,
  peakRssMiB: { 'weblog-generator': 130, transformer: 140, 's3-archiver': 135, verifier: 150 },
  failures: [],
};

describe('judge', () => {
  it('passes a run that kept every guarantee', () => {
    expect(judge(passing, ledger, [], 30000)).toEqual([]);
  });

  it('passes the gaps of a generator killed in the middle of a send, whose records reached some partitions and not others', () => {
    // The input topic lacks the same 21 sequences the verifier misses; every written record was verified.
    expect(judge({ ...passing, verifierMissing: 21, neverWritten: 21 }, { ...ledger, neverWritten: 21 }, [], 30000)).toEqual([]);
  });

  it.each<[string, Partial<ScenarioResult>, string]>([
    ['a missing record', { missing: 1 }, 'records missing from the output topic: 1'],
    ['a sequence gap', { verifierMissing: 3 }, 'sequence gaps the verifier found beyond the sequences no generator wrote: 3'],
    ['more gaps than a killed generator left', { verifierMissing: 24, neverWritten: 21 }, 'beyond the sequences no generator wrote: 3'],
    ['a verifier that counted less', { verified: 999 }, 'the verifier counted 999 records'],
    [
      'a record the ledger misses in S3',
      { s3: { ledger: { ...noS3Difference, missing: 1 }, audit: noS3Difference } },
      'output records missing in S3 (ledger, by event id at each position): 1',
    ],
    [
      'a duplicate in S3 the audit found',
      { s3: { ledger: noS3Difference, audit: { ...noS3Difference, duplicated: 2 } } },
      'output records in S3 more than once (verifier audit): 2',
    ],
    [
      'a stranger in S3',
      { s3: { ledger: { ...noS3Difference, unexpected: 1 }, audit: noS3Difference } },
      'S3 records not in the output topic (ledger, by event id at each position): 1',
    ],
    [
      'an audit that could not be taken',
      { s3: { ledger: noS3Difference, audit: { ...noS3Difference, missing: -1 } } },
      '(verifier audit): -1',
    ],
    ['an archive out of order', { outOfOrderInS3: 2 }, 'S3 lines behind the previous line of their partition (verifier audit): 2'],
    ['an unreadable archive object', { archiveProblems: 1 }, 'archive objects or lines that could not be read: 1'],
    [
      'a duplicate the verifier counted in exactly-once mode',
      { verifierDuplicates: 3 },
      "duplicates in the verifier's report (exactly-once): 3",
    ],
    [
      'a record a generator wrote twice, counted by the verifier too',
      { verifierDuplicates: 37, resentByProducers: 37 },
      'input records a generator wrote more than once: 37',
    ],
    ['an out-of-order record', { outOfOrder: 1 }, 'records behind a later record of their key: 1'],
    ['a duplicate in exactly-once mode', { duplicatedOutput: 4 }, 'duplicates the pipeline added to the output topic (exactly-once): 4'],
    ['a good record dead-lettered', { deadLettered: 47 }, 'dead letters beyond the bad records sent: 1'],
    ['an altered record', { altered: 1 }, 'output records that are not their input upper-cased: 1'],
    ['a slow recovery', { recoverySeconds: 31 }, 'recovery took 31 s, the limit is 30 s'],
    ['an empty run', { generated: 0, verified: 0 }, 'no records were generated'],
  ])('fails on %s', (_what, change, failure) => {
    expect(judge({ ...passing, ...change }, ledger, [], 30000).join('\n')).toContain(failure);
  });

  it('fails on a record a generator wrote twice in at-least-once mode too', () => {
    expect(judge({ ...passing, mode: 'at-least-once', resentByProducers: 2 }, ledger, [])).toEqual([
      'input records a generator wrote more than once: 2, expected 0',
    ]);
  });

  it('allows duplicates in the output topic in at-least-once mode, never in S3', () => {
    expect(judge({ ...passing, mode: 'at-least-once', duplicatedOutput: 7, verifierDuplicates: 7 }, ledger, [])).toEqual([]);
    const inS3 = { ...noS3Difference, duplicated: 1 };
    expect(judge({ ...passing, mode: 'at-least-once', s3: { ledger: inS3, audit: noS3Difference } }, ledger, [])).toHaveLength(1);
  });

  it('names examples of the S3 differences with the failure, and does not judge an earlier incarnation', () => {
    const missing = { ...noS3Difference, missing: 1 };
    const failures = judge(
      {
        ...passing,
        s3: { ledger: missing, audit: noS3Difference },
        earlierIncarnationInS3: 40,
        s3Examples: ['missing A at 0:5, S3 holds B there'],
      },
      ledger,
      [],
    );
    expect(failures).toEqual([
      'output records missing in S3 (ledger, by event id at each position): 1, expected 0',
      'S3 differences, for example: missing A at 0:5, S3 holds B there',
    ]);
    expect(judge({ ...passing, earlierIncarnationRecords: 40, earlierIncarnationInS3: 40 }, ledger, [])).toEqual([]);
  });

  it('fails when records of the earlier incarnation are gone from the archive', () => {
    expect(judge({ ...passing, earlierIncarnationRecords: 40, earlierIncarnationInS3: 31 }, ledger, [])).toEqual([
      "records of the topics' earlier incarnation gone from S3: 9 of 40",
    ]);
  });

  it('fails on a misfiled bad record and on a service that exited unasked', () => {
    const failures = judge(passing, { ...ledger, badMisfiled: ['JSON null: sent 2, dead-lettered with reason not-an-object 1'] }, [
      'transformer exited with 1 unasked',
    ]);
    expect(failures).toEqual([
      'a service needed a manual restart: transformer exited with 1 unasked',
      'bad record not dead-lettered as expected: JSON null: sent 2, dead-lettered with reason not-an-object 1',
    ]);
  });

  it('has nothing to judge without a ledger beyond the crashes', () => {
    expect(judge(passing, undefined, [])).toEqual([]);
  });
});

describe('scenariosOf', () => {
  it('runs every scenario in the long profile and leaves the long-only ones out of the short one', () => {
    expect(scenariosOf('long').map((s) => s.name)).toEqual(SCENARIOS.map((s) => s.name));
    const short = scenariosOf('short').map((s) => s.name);
    expect(short).toContain('broker-restart');
    for (const name of ['transformer-scale-exactly-once', 'zombie-transformer', 'archiver-scale-in', 's3-hang', 'topic-recreation']) {
      expect(short).not.toContain(name);
    }
  });
});

describe('inMode', () => {
  const named = (name: string) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario) throw new Error(`no scenario ${name}`);
    return scenario;
  };

  it('runs a cluster fault with the transformer at least once, judged as such', () => {
    const scenario = inMode(named('rolling-brokers'), 'at-least-once');
    expect(scenario?.mode).toBe('at-least-once');
    expect(scenario?.name).toBe('rolling-brokers');
    expect(named('rolling-brokers').mode).toBe('exactly-once');
  });

  it("keeps a scenario's own mode without --mode, and leaves out those whose fault belongs to their mode", () => {
    expect(inMode(named('broker-restart'), undefined)).toBe(named('broker-restart'));
    for (const name of ['sigkill-services-exactly-once', 'transformer-scale-exactly-once', 'zombie-transformer', 'archiver-scale-in']) {
      expect(inMode(named(name), 'at-least-once')).toBeUndefined();
      expect(inMode(named(name), 'exactly-once')).toBe(named(name));
    }
    expect(inMode(named('sigkill-services-at-least-once'), 'exactly-once')).toBeUndefined();
  });
});

/** A long-profile run of these scenarios, on a machine the table does not show. */
const suiteRun = (scenarios: ScenarioResult[]) => ({
  profile: 'long' as const,
  seed: 1,
  startedAt: '2026-11-24T00:00:00Z',
  machine: { cpus: 2, memoryGiB: 24, node: 'v20', platform: 'Linux' },
  scenarios,
});

describe('resultsTable', () => {
  it('renders one row per scenario with the figures and the verdict', () => {
    const table = resultsTable(suiteRun([passing, { ...passing, scenario: 'bad-input', failures: ['x'], missingInS3: 2 }]));
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe(
      '| broker-restart | exactly-once | 1,000 | 1,000 | 0 / 0 | 0 / 0 | 46 of 46 bad (46 kinds) | 12.5 | 130 / 140 / 135 / 150 | pass |',
    );
    expect(lines[3]).toContain('| 0 / 2 |');
    expect(lines[3]).toMatch(/\| FAIL \(1\) \|$/);
  });

  it('counts as missing only the gaps the judge counts: those beyond the sequences no generator wrote', () => {
    const table = resultsTable(
      suiteRun([
        { ...passing, verifierMissing: 12, neverWritten: 12 },
        { ...passing, verifierMissing: 15, neverWritten: 12, failures: ['gaps'] },
      ]),
    );
    const [, , killed, lost] = table.split('\n');
    expect(killed).toContain('| 1,000 | 0 / 0 | 0 / 0 |');
    expect(lost).toContain('| 1,000 | 3 / 0 | 0 / 0 |');
  });
});
