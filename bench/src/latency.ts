// Latency benchmark: the whole pipeline (generator, transformer, archiver, verifier) at a fixed rate;
// the verifier measures each record from the moment the generator's schedule made it due to its own
// receipt, and splits the run into start-up (records produced in its first 20 s, or its first half
// when shorter) and steady state.
// The output topic stamps each record with the broker's append time, so the verifier's split of
// the steady latency at the record timestamp is the same point for every contender: before the
// output topic (generator, input topic, transformer, its produce) and after it (the fetch to the
// verifier and its own work).
// The peers: the same pipeline with Kafka Streams in the transformer's place, its producer's
// linger.ms at 0 and at Kafka Streams' default.
import { ConfigResourceTypes } from 'kafkajs';
import { LatencySummary, parseVerificationReport, RunReport } from '@weblog/kafka-common';
import { eventually, metricValue, uniqueName } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { BenchContext, footprint, freshTopics } from './context';
import { ratio, round, table } from './measure';
import { Measured, startStreams, startTransformer } from './peers';

const RATES = [1_000, 3_000];
/** What the issue of steady-state latency asks of our transformer, p99 per rate. */
const STEADY_P99_GOAL_MS: Record<number, number> = { 1_000: 25, 3_000: 100 };

const OURS = 'weblog transformer';
/** Ours with everything on its main thread (`TRANSFORMER_THREADS=0`), beside ours with its default transform thread. */
const OURS_ONE_THREAD = 'weblog transformer, no transform thread';
const CONTENDERS = [OURS, OURS_ONE_THREAD, 'Kafka Streams, linger.ms 0', 'Kafka Streams, default linger.ms'] as const;
type Contender = (typeof CONTENDERS)[number];
const PEER: Contender = 'Kafka Streams, linger.ms 0';
const TRANSFORM_BATCHES = 'weblog_transformer_transform_batches_total';

/** Start-up is a run's first 20 s, or its first half when it is shorter than 40 s. */
function warmupMs(seconds: number): number {
  return Math.min(20_000, Math.floor((seconds * 1000) / 2));
}

export interface LatencyRow {
  readonly transformer: Contender;
  readonly rate: number;
  readonly records: number;
  /** What the generator achieved: records over the time it took to send them. */
  readonly sentPerSecond: number;
  readonly warmupMs: number;
  readonly startup: LatencySummary;
  readonly steady: LatencySummary;
  /** The steady latency split where the broker appended the record to the output topic. */
  readonly steadyBeforeStamp: LatencySummary;
  readonly steadyAfterStamp: LatencySummary;
  readonly peakRssMiB: Record<string, number>;
  /** Our transformer's batches by where they were transformed, read from its metrics at the end of the run. */
  readonly batchesByPath?: { readonly thread: number; readonly main: number };
}

async function stableGroup(ctx: BenchContext, groupId: string): Promise<void> {
  await eventually(
    async () => {
      const { groups } = await ctx.admin.describeGroups([groupId]);
      return groups[0]?.state === 'Stable' ? true : undefined;
    },
    120000,
    200,
  );
}

async function pipelineRun(ctx: BenchContext, transformer: Contender, rate: number, seconds: number): Promise<LatencyRow> {
  const topics = await freshTopics(ctx, 'bench-latency', ['input', 'output', 'reprocessed', 'dead-letter']);
  await ctx.admin.alterConfigs({
    validateOnly: false,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: topics.output, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] },
    ],
  });
  const env = {
    KAFKA_TOPIC_INPUT: topics.input,
    KAFKA_TOPIC_OUTPUT: topics.output,
    KAFKA_TOPIC_REPROCESSED: topics.reprocessed,
    KAFKA_TOPIC_DEAD_LETTER: topics['dead-letter'],
  };
  const group = `${topics.input}-transformer`;
  const processes: Record<string, Measured> = {};
  // Read while each process lives: a generator that is done exits, and its figures go with it.
  const sample = () => {
    for (const p of Object.values(processes)) p.usage();
  };
  try {
    processes['transformer'] =
      transformer !== OURS && transformer !== OURS_ONE_THREAD
        ? startStreams(ctx.peers, {
            brokers: ctx.brokers,
            input: topics.input,
            output: topics.output,
            applicationId: group,
            guarantee: 'at-least-once',
            ...(transformer === PEER ? { lingerMs: 0 } : {}),
          })
        : await startTransformer({
            input: topics.input,
            output: topics.output,
            deadLetter: topics['dead-letter'],
            groupId: group,
            guarantee: 'at-least-once',
            ...(transformer === OURS_ONE_THREAD ? { extra: { TRANSFORMER_THREADS: '0' } } : {}),
          });
    const archiver = await ServiceProcess.start('s3-archiver', {
      ...env,
      ARCHIVER_GROUP_ID: `${group}-archiver`,
      ARCHIVER_TOPICS_DIR: group,
      S3_BUCKET: 'weblog-archive',
    });
    const verifier = await ServiceProcess.start('verifier', {
      ...env,
      VERIFIER_GROUP_ID: `${group}-verifier`,
      VERIFIER_PROGRESS_INTERVAL_MS: '0',
      VERIFIER_LATENCY_WARMUP_MS: String(warmupMs(seconds)),
    });
    processes['s3-archiver'] = archiver;
    processes['verifier'] = verifier;
    await Promise.all([archiver.ready(), verifier.ready()]);
    // Every consumer in its group before the first record, so no record waits for a start-up.
    await Promise.all([stableGroup(ctx, group), stableGroup(ctx, `${group}-archiver`), stableGroup(ctx, `${group}-verifier`)]);

    const runId = uniqueName('latency');
    const records = rate * seconds;
    const started = process.hrtime.bigint();
    const generator = await ServiceProcess.start('weblog-generator', {
      ...env,
      GENERATOR_RATE: String(rate),
      GENERATOR_COUNT: String(records),
      GENERATOR_RUN_ID: runId,
      GENERATOR_EXIT_WHEN_DONE: 'true',
    });
    processes['weblog-generator'] = generator;
    let sentSeconds: number | undefined;
    const report = await eventually(
      async () => {
        sample();
        if (sentSeconds === undefined && !generator.running) sentSeconds = Number(process.hrtime.bigint() - started) / 1e9;
        const { text } = await verifier.get('/report');
        const run = parseVerificationReport(text).runs.find((r: RunReport) => r.runId === runId);
        return run && run.unique >= records ? run : undefined;
      },
      (seconds + 600) * 1000,
      250,
    );
    if (report.missing > 0 || report.duplicates > 0)
      throw new Error(`the verifier saw ${report.missing} missing and ${report.duplicates} duplicated records`);
    await generator.waitForExit(60000);
    sentSeconds ??= Number(process.hrtime.bigint() - started) / 1e9;
    const ours = processes['transformer'];
    const metrics = ours instanceof ServiceProcess ? (await ours.get('/metrics')).text : undefined;
    return {
      transformer,
      rate,
      records,
      sentPerSecond: Math.round(records / sentSeconds),
      warmupMs: report.latencyWarmupMs,
      startup: report.startupLatencyMs,
      steady: report.steadyLatencyMs,
      steadyBeforeStamp: report.steadyBeforeRecordTimestampMs,
      steadyAfterStamp: report.steadyAfterRecordTimestampMs,
      peakRssMiB: Object.fromEntries(Object.entries(processes).map(([name, p]) => [name, footprint(p).peakRssMiB])),
      ...(metrics === undefined
        ? {}
        : {
            batchesByPath: {
              thread: metricValue(metrics, TRANSFORM_BATCHES, { path: 'thread' }),
              main: metricValue(metrics, TRANSFORM_BATCHES, { path: 'main' }),
            },
          }),
    };
  } finally {
    await Promise.all(Object.values(processes).map((p) => p.stop()));
  }
}

export async function benchLatency(ctx: BenchContext, seconds: number): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const [index, rate] of RATES.entries()) {
    // The order turns round at each rate, so no contender is always the first run after the broker starts.
    const order = index % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
    for (const transformer of order) {
      ctx.say(`${rate.toLocaleString('en-US')} records/s for ${seconds} s, ${transformer} in the middle`);
      const row = await pipelineRun(ctx, transformer, rate, seconds);
      ctx.say(
        `  steady p50 ${row.steady.p50} ms, p99 ${row.steady.p99} ms; start-up p99 ${row.startup.p99} ms (generator sent ${row.sentPerSecond.toLocaleString('en-US')}/s)`,
      );
      rows.push(row);
    }
  }
  // The table keeps one order whatever order the runs took.
  return rows.sort((a, b) => a.rate - b.rate || CONTENDERS.indexOf(a.transformer) - CONTENDERS.indexOf(b.transformer));
}

export function latencyTable(rows: LatencyRow[]): string {
  const peer = (row: LatencyRow) => rows.find((r) => r.rate === row.rate && r.transformer === PEER);
  return table(
    [
      'rate (records/s)',
      'transformer',
      'sent/s',
      'steady records',
      'steady p50 ms',
      'steady p99 ms',
      'steady max ms',
      'steady p99 before / after the output append ms',
      `steady p99 vs ${PEER}`,
      'steady p99 goal ms',
      'start-up records',
      'start-up p99 ms',
      'start-up max ms',
      'peak RSS MiB (gen / transformer / arch / ver)',
      'our batches through the transform thread',
    ],
    rows.map((r) => [
      r.rate,
      r.transformer,
      r.sentPerSecond,
      r.steady.count,
      round(r.steady.p50, 1),
      round(r.steady.p99, 1),
      round(r.steady.max, 1),
      `${round(r.steadyBeforeStamp.p99, 1)} / ${round(r.steadyAfterStamp.p99, 1)}`,
      ratio(r.steady.p99, peer(r)?.steady.p99 ?? 0),
      r.transformer === OURS ? (STEADY_P99_GOAL_MS[r.rate] ?? '') : '',
      r.startup.count,
      round(r.startup.p99, 1),
      round(r.startup.max, 1),
      ['weblog-generator', 'transformer', 's3-archiver', 'verifier'].map((n) => r.peakRssMiB[n] ?? 0).join(' / '),
      r.batchesByPath
        ? `${r.batchesByPath.thread.toLocaleString('en-US')} of ${(r.batchesByPath.thread + r.batchesByPath.main).toLocaleString('en-US')}`
        : '',
    ]),
  );
}
