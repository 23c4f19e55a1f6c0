import { FLOORS } from './floor-job';
import { floorsTable } from './floors';
import { KAFKAJS_LOOP, medianRow, OURS, TransformerRow, transformerTable } from './transformer';

function run(contender: string, sustainedPerSecond: number, extra: Partial<TransformerRow> = {}): TransformerRow {
  return {
    contender,
    guarantee: 'at-least-once',
    records: 1000,
    startupSeconds: 1,
    totalSeconds: 10,
    sustainedPerSecond,
    lateVsEarly: 1,
    peakRssMiB: 100,
    cpuSeconds: 5,
    recordsPerCpuSecond: 200,
    ...extra,
  };
}

describe('medianRow', () => {
  it("takes each figure's median on its own and keeps every round's rate in the order they ran", () => {
    const row = medianRow([
      run('ours', 300, { cpuSeconds: 4, brokerCpuSeconds: 2, machineBusyPercent: 90 }),
      run('ours', 100, { cpuSeconds: 9, brokerCpuSeconds: 1, machineBusyPercent: 80 }),
      run('ours', 110, { cpuSeconds: 5, brokerCpuSeconds: 9, machineBusyPercent: 10 }),
    ]);
    // Not the means (170, 6, 4, 60), and not one round's figures taken whole.
    expect(row).toMatchObject({ contender: 'ours', sustainedPerSecond: 110, cpuSeconds: 5, brokerCpuSeconds: 2, machineBusyPercent: 80 });
    expect(row.rounds).toEqual([300, 100, 110]);
  });

  it('takes the lower middle of an even count, and leaves out a figure no round measured', () => {
    const row = medianRow([run('ours', 300, { machineBusyPercent: 90 }), run('ours', 100)]);
    expect(row.sustainedPerSecond).toBe(100);
    expect(row.machineBusyPercent).toBe(90);
    expect(row).not.toHaveProperty('brokerCpuSeconds');
  });

  it('keeps the profile of a single run only', () => {
    const profile = [{ fromSeconds: 0, toSeconds: 10, gcPercent: 5, idlePercent: 20, top: [] }];
    expect(medianRow([run('ours', 100, { profile })]).profile).toBe(profile);
    expect(medianRow([run('ours', 100, { profile }), run('ours', 90)])).not.toHaveProperty('profile');
  });

  it('refuses a contender that never ran', () => {
    expect(() => medianRow([])).toThrow('no run');
  });
});

describe('transformerTable', () => {
  it('shows every round beside the median and says how the rounds ran', () => {
    const ours = medianRow([run('weblog transformer', 120), run('weblog transformer', 140), run('weblog transformer', 130)]);
    const peer = medianRow([run('Kafka Streams', 100), run('Kafka Streams', 110), run('Kafka Streams', 90)]);
    const text = transformerTable({ records: 1000, rounds: 3, generatorPerSecond: 1, rows: [ours, peer], warmUps: [] });
    expect(text).toContain('| weblog transformer | at-least-once | 1,000 | 130 | 120, 140, 130 | 1.30x | 1.20x, 1.27x, 1.44x |');
    expect(text).toContain('the median of 3 rounds');
  });

  it('holds our single process to the kafkajs loop round by round, which the medians can hide', () => {
    const ours = medianRow([run(OURS, 120), run(OURS, 140), run(OURS, 130)]);
    const loop = medianRow([run(KAFKAJS_LOOP, 150), run(KAFKAJS_LOOP, 140), run(KAFKAJS_LOOP, 200)]);
    const once = medianRow([run('kafka-python loop', 10, { guarantee: 'auto-commit' })]);
    // Exactly once is not held to the loop, which commits without transactions.
    const transactional = medianRow([100, 100, 100].map((rate) => run(OURS, rate, { guarantee: 'exactly-once' })));
    const rows = [transactional, ours, loop, once];
    const text = transformerTable({ records: 1000, rounds: 3, generatorPerSecond: 1, rows, warmUps: [] });
    expect(text).toContain(
      'Our transformer (one process, at least once) against the kafkajs loop: 0.87x by the medians, 0.80x, 1.00x, 0.65x round by round.',
    );
    // A contender that ran once has no rounds to pair.
    expect(text).toContain('| kafka-python loop | auto-commit | 1,000 | 10 | 10 | n/a | n/a |');
  });

  it('says nothing of the loop when the run had no loop', () => {
    const ours = medianRow([run(OURS, 120)]);
    expect(transformerTable({ records: 1000, rounds: 1, generatorPerSecond: 1, rows: [ours], warmUps: [] })).not.toContain('kafkajs loop');
  });
});

describe('floorsTable', () => {
  it('holds every row to the kafkajs loop by the medians and round by round', () => {
    const rows = [
      medianRow([run(OURS, 75), run(OURS, 90), run(OURS, 80)]),
      medianRow([run(FLOORS.json, 90), run(FLOORS.json, 100), run(FLOORS.json, 95)]),
      medianRow([run(KAFKAJS_LOOP, 100), run(KAFKAJS_LOOP, 90), run(KAFKAJS_LOOP, 110)]),
    ];
    const text = floorsTable({ records: 1000, rounds: 3, generatorPerSecond: 1, rows, warmUps: [] });
    expect(text).toContain(`| ${OURS} | 1,000 | 80 | 75, 90, 80 | 0.80x | 0.75x, 1.00x, 0.73x |`);
    expect(text).toContain(`| ${FLOORS.json} | 1,000 | 95 | 90, 100, 95 | 0.95x | 0.90x, 1.11x, 0.86x |`);
    expect(text).toContain(`| ${KAFKAJS_LOOP} | 1,000 | 100 | 100, 90, 110 | 1.00x | 1.00x, 1.00x, 1.00x |`);
    expect(text).toContain('the median of 3 rounds');
  });
});
