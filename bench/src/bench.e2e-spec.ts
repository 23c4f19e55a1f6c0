import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArchiverRow, fastest } from './archiver';
import type { CeilingResult } from './ceiling';
import type { ComparisonResult } from './compare';
import type { LatencyRow } from './latency';
import type { ShipperResult } from './shipper';
import { cpuMicros, type WorkResult } from './work';
import { checkoutName } from './checkout';
import { FLOORS } from './floor-job';
import { KAFKAJS_LOOP, OURS, type TransformerResult } from './transformer';

/**
 * Every benchmark, small, through the same command users run: the peers are prepared (Maven
 * Central, PyPI), every contender runs to the end against the test run's broker and S3 server, and
 * the results file holds a figure for each. The real runs are `npm run bench`.
 */
async function bench<T>(name: string, records: number, extra: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return (await benchWithOutput<T>(name, records, extra, env)).result;
}

/** The same, with what the command printed: the order its runs went in. */
async function benchWithOutput<T>(
  name: string,
  records: number,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ result: T; lines: string[] }> {
  const { code, output, out } = await runBench(name, records, extra, env);
  if (code !== 0) throw new Error(`bench ${name} exited with ${String(code)}:\n${output.slice(-4000)}`);
  return { result: (JSON.parse(readFileSync(out, 'utf8')) as { result: T }).result, lines: output.split('\n') };
}

async function runBench(
  name: string,
  records: number,
  extra: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; output: string; out: string }> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'weblog-bench-')), `${name}.json`);
  const cli = path.resolve(__dirname, '../dist/cli.js');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const sized = records > 0 ? ['--records', String(records)] : [];
    const child = spawn(process.execPath, [cli, name, ...sized, '--out', out, ...extra], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  return { code, output: output.join(''), out };
}

describe('npm run bench', () => {
  it('ceiling: the producer and consumer perf tools and our generator each move every record', async () => {
    const result = await bench<CeilingResult>('ceiling', 20000);
    expect(result.producer.records).toBe(20000);
    expect(result.consumer.records).toBe(20000);
    expect(Math.min(result.producer.perSecond, result.consumer.perSecond, result.generatorPerSecond)).toBeGreaterThan(0);
    // A real web log, not a stub payload.
    expect(result.recordBytes).toBeGreaterThan(150);
  });

  it('transformer: every contender upper-cases the whole input in every round, with its memory and CPU time', async () => {
    // A broker of its own, as `npm run bench` launches one: the broker's CPU time is measured only then.
    const { KAFKA_BROKERS: _given, ...ownBroker } = process.env;
    const { result, lines } = await benchWithOutput<TransformerResult>('transformer', 20000, ['--rounds', '2'], ownBroker);
    expect(result.rounds).toBe(2);
    // The second round ran the compared contenders in the reverse of the first's order (the
    // warm-up runs, announced by the line before them, left out).
    const compared = result.rows.filter((r) => r.guarantee !== 'auto-commit').map((r) => `${r.contender}, ${r.guarantee}`);
    const ran = (from: string, to: string) =>
      lines
        .slice(lines.indexOf(from) + 1, lines.indexOf(to))
        .filter((line, i, all) => compared.includes(line) && all[i - 1] !== 'warm-up, not measured:');
    expect(ran('round 1 of 2', 'round 2 of 2')).toEqual(compared);
    expect(ran('round 2 of 2', 'kafka-python loop, auto-commit')).toEqual([...compared].reverse());
    expect(result.rows.map((r) => `${r.contender} ${r.guarantee}`)).toEqual([
      'weblog transformer at-least-once',
      'Kafka Streams at-least-once',
      'weblog transformer, 2 processes at-least-once',
      'Kafka Streams, 2 stream threads at-least-once',
      'weblog transformer exactly-once',
      'Kafka Streams exactly-once',
      'weblog transformer, 2 processes exactly-once',
      'Kafka Streams, 2 stream threads exactly-once',
      'kafkajs loop (no JSON) at-least-once',
      'kafka-python loop auto-commit',
    ]);
    // Each compared guarantee's first contender ran once, unmeasured, before its measured run.
    expect(result.warmUps.map((w) => `${w.contender} ${w.guarantee}`)).toEqual([
      'weblog transformer at-least-once',
      'weblog transformer exactly-once',
    ]);
    for (const run of result.warmUps) expect(run.sustainedPerSecond).toBeGreaterThan(0);
    for (const row of result.rows) {
      // Every compared contender ran in both rounds, and its figure is their median (the lower of
      // two); the kafka-python loop, compared with nothing, ran once.
      const rounds = row.rounds ?? [];
      expect(rounds).toHaveLength(row.guarantee === 'auto-commit' ? 1 : 2);
      for (const perSecond of rounds) expect(perSecond).toBeGreaterThan(0);
      expect(row.sustainedPerSecond).toBe(Math.min(...rounds));
      expect(row.records).toBe(20000);
      expect(row.sustainedPerSecond).toBeGreaterThan(0);
      expect(row.peakRssMiB).toBeGreaterThan(0);
      expect(row.cpuSeconds).toBeGreaterThan(0);
      // The broker served every contender: its CPU time in the run counts toward the record's cost.
      expect(row.brokerCpuSeconds).toBeGreaterThan(0);
      expect(row.recordsPerCpuSecondWithBroker).toBeLessThan(row.recordsPerCpuSecond);
      // The contender and the broker ran on the machine in the steady state.
      expect(row.machineBusyPercent).toBeGreaterThan(0);
      expect(row.machineBusyPercent).toBeLessThanOrEqual(100);
    }
  });

  it('transformer --floors: our transformer, its copies with a lesser transform thread and the kafkajs loop, alternating', async () => {
    const { result, lines } = await benchWithOutput<TransformerResult>('transformer', 5000, ['--floors', '--rounds', '2']);
    const names = [OURS, FLOORS.json, FLOORS['one-string'], KAFKAJS_LOOP];
    expect(result.rows.map((r) => `${r.contender} ${r.guarantee}`)).toEqual(names.map((n) => `${n} at-least-once`));
    // Each copy's output was checked to be its floor's (no timestamp_utc), so the preload took in
    // its transform thread; the second round ran in the reverse order.
    const ran = lines.filter(
      (line, i, all) => names.some((n) => line === `${n}, at-least-once`) && all[i - 1] !== 'warm-up, not measured:',
    );
    expect(ran).toEqual([...names, ...[...names].reverse()].map((n) => `${n}, at-least-once`));
    for (const row of result.rows) {
      expect(row.rounds).toHaveLength(2);
      for (const perSecond of row.rounds ?? []) expect(perSecond).toBeGreaterThan(0);
      expect(row.cpuSeconds).toBeGreaterThan(0);
    }
    const misplaced = await runBench('archiver', 5, ['--floors']);
    expect(misplaced.code).not.toBe(0);
    expect(misplaced.output).toContain('--floors is for the transformer benchmark');
  });

  it('transformer --against: our transformer from this checkout and from another, alternating in both guarantees', async () => {
    // The other checkout is this one: what is tested is the alternation and the figures of each build.
    const root = path.resolve(__dirname, '../..');
    const result = await bench<ComparisonResult>('transformer', 5000, ['--against', root, '--rounds', '2']);
    expect(result.builds.map((b) => `${b.guarantee} ${b.build}`)).toEqual([
      'at-least-once this checkout',
      `at-least-once ${checkoutName(root)}`,
      'exactly-once this checkout',
      `exactly-once ${checkoutName(root)}`,
    ]);
    expect(result.warmUps.map((w) => w.guarantee)).toEqual(['at-least-once', 'exactly-once']);
    for (const build of result.builds) {
      expect(build.runs).toHaveLength(2);
      for (const run of build.runs) expect(run.perSecond).toBeGreaterThan(0);
      expect(build.medianPerSecond).toBe(Math.min(...build.runs.map((r) => r.perSecond)));
    }
    const unbuilt = mkdtempSync(path.join(tmpdir(), 'weblog-unbuilt-'));
    const refused = await runBench('transformer', 5000, ['--against', unbuilt]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(`--against ${unbuilt}: cannot load`);
    const misplaced = await runBench('latency', 5, ['--rounds', '2']);
    expect(misplaced.code).not.toBe(0);
    expect(misplaced.output).toContain('--rounds is for the transformer, archiver and work benchmarks');
    const noLoops = await runBench('archiver', 5, ['--loop-seconds', '0']);
    expect(noLoops.code).not.toBe(0);
    expect(noLoops.output).toContain('--loop-seconds must be a positive number, got 0');
  });

  it("work --against: the transform thread's job of this checkout and of another, alternating", async () => {
    // The other checkout is this one again: what is tested is the rounds, their figures and the names.
    const root = path.resolve(__dirname, '../..');
    const { result, lines } = await benchWithOutput<WorkResult>('work', 0, ['--against', root, '--rounds', '2']);
    expect(checkoutName(root)).toMatch(/^commit [0-9a-f]{7,}/);
    expect(result.builds.map((b) => b.build)).toEqual(['this checkout', checkoutName(root)]);
    expect(lines.filter((l) => l.startsWith('round ')).map((l) => l.slice(0, l.indexOf(',')))).toEqual([
      'round 1 of 2: this checkout',
      `round 1 of 2: ${checkoutName(root)}`,
      `round 2 of 2: ${checkoutName(root)}`,
      'round 2 of 2: this checkout',
    ]);
    for (const build of result.builds) {
      expect(build.rounds).toHaveLength(2);
      // Every round did whole jobs of the batch, and took CPU for them.
      for (const r of build.rounds) {
        expect(r.records % result.recordsPerJob).toBe(0);
        expect(r.records).toBeGreaterThan(0);
        expect(r.cpuSeconds).toBeGreaterThan(0);
      }
      expect(build.medianCpuMicros).toBe(Math.min(...build.rounds.map(cpuMicros)));
    }
    const unbuilt = mkdtempSync(path.join(tmpdir(), 'weblog-unbuilt-'));
    const refused = await runBench('work', 0, ['--against', unbuilt]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("cannot load the transformer's job");
  });

  it('archiver: every record in S3 at flush size 10 and 10,000, and at 10 with S3 replies held back, beside the plain PutObject rate, in rounds', async () => {
    // An S3 server of its own, as `npm run bench` launches one: the server's CPU time is measured only then.
    const { S3_ENDPOINT: _given, ...ownS3 } = process.env;
    // Loops of 4 s instead of the table's 15: what is tested is what each row holds, not its figures.
    const { result: rows, lines } = await benchWithOutput<ArchiverRow[]>('archiver', 5000, ['--rounds', '2', '--loop-seconds', '4'], ownS3);
    // In each row's second round the loops ran before the archiver.
    const secondRounds = lines.flatMap((line, i) =>
      line.trim() === 'round 2 of 2' ? [lines.slice(i + 1, i + 4).map((l) => l.trim())] : [],
    );
    expect(secondRounds).toHaveLength(3);
    for (const [first, second, third] of secondRounds) {
      expect(first).toMatch(/^plain PutObject loop at concurrency \d+, the sweep's fastest:/);
      expect(second).toMatch(/^the archiver's writes in a loop at concurrency \d+:/);
      expect(third).toMatch(/^archiver: /);
    }
    expect(rows.map((r) => [r.flushSize, r.s3ReplyDelayMs])).toEqual([
      [10, 0],
      [10000, 0],
      [10, 20],
    ]);
    const [small, large, distant] = rows;
    // Objects of at most 10 records hold all 5,000; objects of up to 10,000 need one per partition.
    expect(small?.objects).toBeGreaterThanOrEqual(500);
    expect(large?.objects).toBeGreaterThanOrEqual(3);
    expect(large?.objects).toBeLessThan(small?.objects ?? 0);
    expect(distant?.objects).toBeGreaterThanOrEqual(500);
    // Held back 20 ms a reply, one loop stores at most 50 objects a second: more in flight is faster.
    expect(distant?.best.objectsPerSecond).toBeGreaterThan(50);
    for (const row of rows) {
      expect(row.raw.objects).toBeGreaterThan(0);
      expect(row.raw.cpuMsPerObject).toBeGreaterThan(0);
      // The peer runs at the sweep's fastest concurrency, in a run of its own.
      expect(row.sweep.map((tried) => tried.concurrency)).toEqual([1, 3, 8, 16, 32, 64]);
      expect(row.best.concurrency).toBe(fastest(row.sweep));
      expect(row.best.objects).toBeGreaterThan(0);
      // As long as the loop at ours (4 s), not one of the sweep's runs (0.4 of it).
      expect(row.loopSeconds).toBe(4);
      expect(row.best.objects / row.best.objectsPerSecond).toBeGreaterThan(3.2);
      // ... and not as long as the table's 15 s: the option reached the loops.
      expect(row.best.objects / row.best.objectsPerSecond).toBeLessThan(8);
      // The archiver's own writes in a loop, at the same concurrency and for as long.
      expect(row.conditional?.concurrency).toBe(row.best.concurrency);
      expect(row.conditional?.objects).toBeGreaterThan(0);
      expect((row.conditional?.objects ?? 0) / (row.conditional?.objectsPerSecond ?? 1)).toBeGreaterThan(3.2);
      expect((row.conditional?.objects ?? 0) / (row.conditional?.objectsPerSecond ?? 1)).toBeLessThan(8);
      // The benchmark launched the S3 server, so what each write cost it is known.
      for (const serverMs of [
        row.serverCpuMsPerObject,
        row.raw.serverCpuMsPerObject,
        row.best.serverCpuMsPerObject,
        row.conditional?.serverCpuMsPerObject,
      ])
        expect(serverMs).toBeGreaterThan(0);
      // Two rounds of the archiver and of the loops; the row's figures are their medians (the lower
      // of two).
      const rounds = row.rounds ?? [];
      expect(rounds).toHaveLength(2);
      expect(row.conditional?.objectsPerSecond).toBe(Math.min(...rounds.map((r) => r.conditionalObjectsPerSecond ?? 0)));
      expect(row.objectsPerSecond).toBe(Math.min(...rounds.map((r) => r.objectsPerSecond)));
      expect(row.best.objectsPerSecond).toBe(Math.min(...rounds.map((r) => r.bestObjectsPerSecond)));
    }
    // Three rows of two rounds, each round with two loops beside the archiver, and each row's sweep.
  }, 480_000);

  it('latency: the whole pipeline with each transformer, every record verified, percentiles in order', async () => {
    const rows = await bench<LatencyRow[]>('latency', 2);
    expect(rows.map((r) => `${r.rate} ${r.transformer}`)).toEqual([
      '1000 weblog transformer',
      '1000 weblog transformer, no transform thread',
      '1000 Kafka Streams, linger.ms 0',
      '1000 Kafka Streams, default linger.ms',
      '3000 weblog transformer',
      '3000 weblog transformer, no transform thread',
      '3000 Kafka Streams, linger.ms 0',
      '3000 Kafka Streams, default linger.ms',
    ]);
    for (const row of rows) {
      expect(row.records).toBe(row.rate * 2);
      // A run shorter than twice the warm-up is split in halves: both phases hold records.
      expect(row.warmupMs).toBe(1000);
      expect(row.startup.count).toBeGreaterThan(0);
      expect(row.steady.count).toBeGreaterThan(0);
      expect(row.startup.count + row.steady.count).toBe(row.records);
      for (const phase of [row.startup, row.steady]) {
        expect(phase.p50).toBeGreaterThan(0);
        expect(phase.p99).toBeGreaterThanOrEqual(phase.p50);
        expect(phase.max).toBeGreaterThanOrEqual(phase.p99);
      }
      // Every output record has a timestamp: each steady record is split there, each part within the whole.
      for (const part of [row.steadyBeforeStamp, row.steadyAfterStamp]) {
        expect(part.count).toBe(row.steady.count);
        expect(part.max).toBeLessThanOrEqual(row.steady.max);
      }
      expect(Object.keys(row.peakRssMiB).sort()).toEqual(['s3-archiver', 'transformer', 'verifier', 'weblog-generator']);
    }
  });

  it('shipper: our log shipper, kcat -P and Kafka Connect each put every line of the log in a topic', async () => {
    const result = await bench<ShipperResult>('shipper', 20000);
    expect(result.rows.map((r) => `${r.contender} ${r.guarantee}`)).toEqual([
      'weblog log-shipper exactly-once',
      'kcat -P at-least-once',
      'Kafka Connect FileStreamSource at-least-once',
    ]);
    for (const row of result.rows) {
      expect(row.lines).toBe(20000);
      expect(row.sustainedPerSecond).toBeGreaterThan(0);
      expect(row.peakRssMiB).toBeGreaterThan(0);
    }
    // Exactly once: each line one committed record, none repeated.
    expect(result.rows[0]?.recordsInTopic).toBe(20000);
    expect(result.fileBytes).toBeGreaterThan(20000 * 100);
  });
});
