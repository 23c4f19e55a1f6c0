// Latency benchmark: the whole pipeline (generator, transformer, archiver, verifier) at a fixed rate;
// the verifier measures each record from the generator's send to its own receipt. The peer: the
// same pipeline with Kafka Streams in the transformer's place.
import { parseVerificationReport, RunReport } from '@weblog/kafka-common';
import { eventually, uniqueName } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { BenchContext, footprint, freshTopics } from './context';
import { ratio, round, table } from './measure';
import { Measured, startStreams, startTransformer } from './peers';

const RATES = [1_000, 10_000];

export interface LatencyRow {
  readonly transformer: string;
  readonly rate: number;
  readonly records: number;
  /** What the generator achieved: records over the time it took to send them. */
  readonly sentPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly peakRssMiB: Record<string, number>;
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

async function pipelineRun(
  ctx: BenchContext,
  transformer: 'weblog transformer' | 'Kafka Streams',
  rate: number,
  seconds: number,
): Promise<LatencyRow> {
  const topics = await freshTopics(ctx, 'bench-latency', ['input', 'output', 'reprocessed', 'dead-letter']);
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
      transformer === 'Kafka Streams'
        ? startStreams(ctx.peers, {
            brokers: ctx.brokers,
            input: topics.input,
            output: topics.output,
            applicationId: group,
            guarantee: 'at-least-once',
          })
        : await startTransformer({
            input: topics.input,
            output: topics.output,
            deadLetter: topics['dead-letter'],
            groupId: group,
            guarantee: 'at-least-once',
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
    return {
      transformer,
      rate,
      records,
      sentPerSecond: Math.round(records / sentSeconds),
      p50Ms: round(report.latencyMs.p50, 1),
      p99Ms: round(report.latencyMs.p99, 1),
      maxMs: round(report.latencyMs.max, 1),
      peakRssMiB: Object.fromEntries(Object.entries(processes).map(([name, p]) => [name, footprint(p).peakRssMiB])),
    };
  } finally {
    await Promise.all(Object.values(processes).map((p) => p.stop()));
  }
}

export async function benchLatency(ctx: BenchContext, seconds: number): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const rate of RATES) {
    for (const transformer of ['weblog transformer', 'Kafka Streams'] as const) {
      ctx.say(`${rate.toLocaleString('en-US')} records/s for ${seconds} s, ${transformer} in the middle`);
      const row = await pipelineRun(ctx, transformer, rate, seconds);
      ctx.say(`  p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms (generator sent ${row.sentPerSecond.toLocaleString('en-US')}/s)`);
      rows.push(row);
    }
  }
  return rows;
}

export function latencyTable(rows: LatencyRow[]): string {
  const peer = (row: LatencyRow) => rows.find((r) => r.rate === row.rate && r.transformer === 'Kafka Streams');
  return table(
    [
      'rate (records/s)',
      'transformer',
      'records',
      'sent/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'p99 vs Kafka Streams',
      'peak RSS MiB (gen / transformer / arch / ver)',
    ],
    rows.map((r) => [
      r.rate,
      r.transformer,
      r.records,
      r.sentPerSecond,
      r.p50Ms,
      r.p99Ms,
      r.maxMs,
      ratio(r.p99Ms, peer(r)?.p99Ms ?? 0),
      ['weblog-generator', 'transformer', 's3-archiver', 'verifier'].map((n) => r.peakRssMiB[n] ?? 0).join(' / '),
    ]),
  );
}
