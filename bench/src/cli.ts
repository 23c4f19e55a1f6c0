// `npm run bench -- <benchmark>`: our services and their peers, side by side on one local broker and
// S3 server. Prints the table, writes bench/results/<benchmark>.json and the table in BENCHMARKS.md.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, LocalInfra, startLocalInfra } from '@weblog/local-infra';
import { benchArchiver, archiverTable, DEFAULT_LOOP_SECONDS } from './archiver';
import { benchCeiling, ceilingTable } from './ceiling';
import { compareTransformer, comparisonTable } from './compare';
import { testKafka } from '@weblog/kafka-common/testing';
import { BenchContext } from './context';
import { benchLatency, latencyTable } from './latency';
import { withSection } from './measure';
import { preparePeers } from './peers';
import { benchShipper, shipperTable } from './shipper';
import { floorContenders, floorsTable } from './floors';
import { benchTransformer, transformerTable } from './transformer';
import { benchWork, workTable } from './work';

interface Benchmark {
  readonly defaultRecords: number;
  run(ctx: BenchContext, records: number, rounds?: number, loopSeconds?: number): Promise<unknown>;
  table(result: never): string;
}

const BENCHMARKS: Record<string, Benchmark> = {
  ceiling: { defaultRecords: 1_000_000, run: benchCeiling, table: ceilingTable },
  transformer: {
    defaultRecords: 1_000_000,
    run: (ctx, records, rounds) => benchTransformer(ctx, records, rounds),
    table: transformerTable,
  },
  archiver: { defaultRecords: 200_000, run: benchArchiver, table: archiverTable },
  latency: { defaultRecords: 70, run: benchLatency, table: latencyTable },
  shipper: { defaultRecords: 1_000_000, run: benchShipper, table: shipperTable },
};

/** `transformer --floors`: our transformer beside copies of itself doing less, and the bare loop. */
const TRANSFORMER_FLOORS: Benchmark = {
  defaultRecords: 1_000_000,
  run: (ctx, records, rounds) => benchTransformer(ctx, records, rounds, floorContenders(ctx)),
  table: floorsTable,
};

const USAGE = `usage: npm run bench -- ${Object.keys(BENCHMARKS).join('|')}|all|work [--records N] [--out FILE] [--profile]
             [--against DIR] [--floors] [--rounds N] [--loop-seconds S]
  --records  records per run (default: ceiling and transformer 1,000,000; archiver 200,000);
             for latency, seconds at each rate (default 70); for shipper, lines of the log (1,000,000)
  --out      results file (default bench/results/<benchmark>.json, or <benchmark>-<N>.json for a
             --records N other than the default); with the default, the benchmark's table in
             BENCHMARKS.md is rewritten too (its <benchmark>-<N> section for another size)
  --profile  transformer: a CPU profile of our single process in each guarantee, summarised in
             spans of the run (GC, idle, the busiest functions); archiver: one of each run, also
             split by where its stacks go (S3 client, records, kafkajs); in <benchmark>-profile.json;
             BENCHMARKS.md is left as it is (the profiler slows the run)
  --against DIR  transformer: our one-process transformer from this checkout against the one from
             DIR (another checkout, built: npm install and npx nx run-many -t build there),
             alternating, in both guarantees; in transformer-against.json, BENCHMARKS.md untouched
  --floors   transformer: our one-process transformer at least once beside copies of itself whose
             transform thread does only JSON, or only what the bare kafkajs loop does, and beside
             that loop; in transformer-floors.json and its section of BENCHMARKS.md
  --rounds N transformer: rounds of every compared contender, alternating, each figure the median
             (default 3; 1 with --profile); archiver: rounds of the archiver and the best loop
             (default 3; 1 with --profile); with --against: rounds of each build and guarantee
             (default 5); work: rounds of each build (default 5)
  --loop-seconds S  archiver: seconds each PutObject loop runs (default ${DEFAULT_LOOP_SECONDS}; the sweep's tries
             0.4 of it); for a quick look, with --out, as its figures are not the table's
  work       the transformer's per-record work alone (its transform thread's job over generated
             web logs, no broker): CPU a record; with --against DIR, this checkout's against DIR's,
             alternating; in work.json or work-against.json, BENCHMARKS.md untouched`;

const repositoryRoot = path.resolve(__dirname, '../..');
const say = (line: string) => process.stdout.write(`${line}\n`);

function machine(): string {
  return `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`;
}

function publish(name: string, text: string, startedAt: string): void {
  const doc = path.join(repositoryRoot, 'BENCHMARKS.md');
  writeFileSync(doc, withSection(readFileSync(doc, 'utf8'), name, `${text}\n\nRun of ${startedAt} on ${machine()}.`));
}

/** Writes a run's results to `out`, or to bench/results/`file`; returns the path written. */
function saveResults(out: string | undefined, file: string, benchmark: string, startedAt: string, result: unknown): string {
  const written = path.resolve(out ?? path.join(repositoryRoot, 'bench', 'results', file));
  mkdirSync(path.dirname(written), { recursive: true });
  writeFileSync(written, `${JSON.stringify({ benchmark, startedAt, machine: machine(), result }, null, 2)}\n`);
  return written;
}

/** CPU seconds every launched Kafka node has used so far; undefined when the brokers were given through the environment. */
function brokerCpuSeconds(infra: LocalInfra): number | undefined {
  if (!infra.launched.kafka || !infra.cluster) return undefined;
  return infra.cluster.nodes.reduce((sum, node) => sum + cpuSeconds(node.pid), 0);
}

/** CPU seconds the launched S3 server has used so far; undefined when the endpoint was given through the environment. */
function s3CpuSeconds(infra: LocalInfra): number | undefined {
  const pid = infra.launched.s3 ? infra.pids().s3 : undefined;
  return pid === undefined ? undefined : cpuSeconds(pid);
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      records: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      against: { type: 'string' },
      floors: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'loop-seconds': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const wanted = positionals[0] ?? '';
  if (values.help || !(wanted in BENCHMARKS || wanted === 'all' || wanted === 'work')) {
    say(USAGE);
    return values.help ? 0 : 2;
  }
  const records = values.records === undefined ? undefined : Number(values.records);
  if (records !== undefined && !(Number.isInteger(records) && records > 0))
    throw new Error(`--records must be a positive whole number, got ${values.records}`);
  if (wanted === 'all' && values.out !== undefined) throw new Error("--out names one benchmark's file: not with all");
  if (values.profile && wanted !== 'transformer' && wanted !== 'archiver')
    throw new Error('--profile is for the transformer and archiver benchmarks');
  if (values.against !== undefined && wanted !== 'transformer' && wanted !== 'work')
    throw new Error('--against is for the transformer and work benchmarks');
  if (wanted === 'work' && records !== undefined) throw new Error('--records is not for work: its job is a batch of 3,000');
  if (values.against !== undefined && values.profile) throw new Error('--against and --profile do not go together');
  if (values.floors && wanted !== 'transformer') throw new Error('--floors is for the transformer benchmark');
  if (values.floors && (values.profile || values.against !== undefined))
    throw new Error('--floors goes with neither --profile nor --against');
  if (values.rounds !== undefined && wanted !== 'transformer' && wanted !== 'archiver' && wanted !== 'work')
    throw new Error('--rounds is for the transformer, archiver and work benchmarks');
  if (values.rounds !== undefined && values.profile) throw new Error('--rounds and --profile do not go together');
  const loopSeconds = values['loop-seconds'] === undefined ? undefined : Number(values['loop-seconds']);
  if (loopSeconds !== undefined && wanted !== 'archiver') throw new Error('--loop-seconds is for the archiver benchmark');
  if (loopSeconds !== undefined && !(loopSeconds > 0))
    throw new Error(`--loop-seconds must be a positive number, got ${values['loop-seconds']}`);
  if (loopSeconds !== undefined && values.out === undefined)
    throw new Error("--loop-seconds goes with --out: loops of another length are not the table's figures");
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0))
    throw new Error(`--rounds must be a positive whole number, got ${values.rounds}`);
  if (wanted === 'work') {
    const startedAt = new Date().toISOString();
    say(`\n== work${values.against === undefined ? '' : `, this checkout against ${values.against}`}`);
    const result = await benchWork(say, values.against, rounds ?? 5);
    const file = values.against === undefined ? 'work.json' : 'work-against.json';
    const out = saveResults(values.out, file, values.against === undefined ? 'work' : 'work --against', startedAt, result);
    say(`\n${workTable(result)}\n\nresults in ${path.relative(process.cwd(), out)}`);
    return 0;
  }
  const profileDir = values.profile ? mkdtempSync(path.join(os.tmpdir(), 'weblog-bench-profile-')) : undefined;

  const peers = await preparePeers();
  const infra = await startLocalInfra({ buckets: ['weblog-archive'], log: (line) => say(`  ${line}`) });
  Object.assign(process.env, infra.env());
  const kafka = testKafka('bench');
  const admin = kafka.admin();
  await admin.connect();
  const ctx: BenchContext = {
    brokers: infra.kafkaBrokers.join(','),
    kafka,
    admin,
    peers,
    say,
    brokerCpuSeconds: () => brokerCpuSeconds(infra),
    s3CpuSeconds: () => s3CpuSeconds(infra),
    ...(profileDir ? { profileDir } : {}),
  };
  if (profileDir) say(`CPU profiles in ${profileDir}`);
  try {
    if (values.against !== undefined) {
      const startedAt = new Date().toISOString();
      say(`\n== transformer, this checkout against ${values.against}`);
      const result = await compareTransformer(
        ctx,
        records ?? BENCHMARKS.transformer?.defaultRecords ?? 1_000_000,
        values.against,
        rounds ?? 5,
      );
      const out = saveResults(values.out, 'transformer-against.json', 'transformer --against', startedAt, result);
      say(`\n${comparisonTable(result)}\n\nresults in ${path.relative(process.cwd(), out)}`);
      return 0;
    }
    for (const name of wanted === 'all' ? Object.keys(BENCHMARKS) : [wanted]) {
      const benchmark = values.floors ? TRANSFORMER_FLOORS : BENCHMARKS[name];
      if (!benchmark) continue;
      const startedAt = new Date().toISOString();
      const base = values.floors ? 'transformer-floors' : name;
      say(`\n== ${base}`);
      // A profiled run is one round: the profiler slows it, and one profile a guarantee is what is read.
      const result = await benchmark.run(ctx, records ?? benchmark.defaultRecords, profileDir ? 1 : rounds, loopSeconds);
      const text = benchmark.table(result as never);
      // A run of another size than the default has its own results file and section (transformer-300000).
      const section = records === undefined || records === benchmark.defaultRecords ? base : `${base}-${records}`;
      // A profiled run is slowed by the profiler: its figures go to a file of their own, not to the tables.
      const file = profileDir ? `${section}-profile.json` : `${section}.json`;
      const out = saveResults(values.out, file, base, startedAt, result);
      say(`\n${text}\n\nresults in ${path.relative(process.cwd(), out)}`);
      if (values.out === undefined && !profileDir && existsSync(path.join(repositoryRoot, 'BENCHMARKS.md')))
        publish(section, text, startedAt);
    }
  } finally {
    await admin.disconnect();
    await infra.stop();
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
