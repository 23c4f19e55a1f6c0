// What every benchmark shares: the servers, clients, the peers, and the way a run is watched.
import { readFileSync } from 'node:fs';
import { Admin, Kafka } from 'kafkajs';
import { createTestTopics, consumeRecords, eventually, uniqueName } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { Measured, PeerArtifacts } from './peers';
import { CpuTicks, crossing, machineBusyPercent, parseCpuTicks, rates, Rates, round, Sample } from './measure';

export interface BenchContext {
  readonly brokers: string;
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly peers: PeerArtifacts;
  readonly say: (line: string) => void;
  /** CPU seconds the broker has used so far (every node of a launched cluster); undefined when the brokers were given. */
  readonly brokerCpuSeconds: () => number | undefined;
  /** CPU seconds the S3 server has used so far; undefined when the S3 endpoint was given. */
  readonly s3CpuSeconds: () => number | undefined;
  /** Set by `--profile`: where our single-process contenders write CPU profiles. */
  readonly profileDir?: string;
}

/** Memory and CPU of a process under test, as last read while it ran. */
export interface Footprint {
  readonly peakRssMiB: number;
  readonly cpuSeconds: number;
}

/** The figures every measured run has, its rates and its footprint: what rounds take medians of. */
export const RUN_FIGURES = ['startupSeconds', 'totalSeconds', 'sustainedPerSecond', 'lateVsEarly', 'peakRssMiB', 'cpuSeconds'] as const;

export function footprint(process: Measured): Footprint {
  const usage = process.usage();
  return { peakRssMiB: Math.round(usage.peakRssBytes / 2 ** 20), cpuSeconds: round(usage.cpuSeconds, 1) };
}

/** New topics named `<prefix>-<unique>-<name>`, with as many partitions as the services create. */
export async function freshTopics<K extends string>(
  ctx: BenchContext,
  prefix: string,
  names: readonly K[],
  partitions = 3,
): Promise<Record<K, string>> {
  const id = uniqueName(prefix);
  const topics = Object.fromEntries(names.map((n) => [n, `${id}-${n}`])) as Record<K, string>;
  await createTestTopics(ctx.admin, Object.values(topics), partitions);
  return topics;
}

/** Records in a topic written without transactions: the sum of its partitions' ends. */
export function recordsIn(ctx: BenchContext, topic: string): () => Promise<number> {
  return async () => (await ctx.admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Records a group has committed on a topic: with transactions, what its committed output holds. */
export function committedBy(ctx: BenchContext, groupId: string, topic: string): () => Promise<number> {
  return async () => {
    const [offsets] = await ctx.admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(Number(p.offset), 0), 0);
  };
}

/** The machine's CPU ticks now; undefined where there is no `/proc/stat`. */
function machineTicks(seconds: number): CpuTicks | undefined {
  try {
    return parseCpuTicks(readFileSync('/proc/stat', 'utf8'), seconds);
  } catch {
    return undefined;
  }
}

/**
 * Polls progress from the moment the process under test was started until `total` records are
 * done; fails if the process dies or `timeoutMs` passes first. Beside the rates: how busy the
 * machine's CPUs were in the steady state (`machineBusyPercent`).
 */
export async function watch(
  process: Measured,
  startedAt: bigint,
  progress: () => Promise<number>,
  total: number,
  timeoutMs: number,
): Promise<{ rates: Rates; footprint: Footprint; machineBusyPercent?: number }> {
  const samples: Sample[] = [];
  const ticks: CpuTicks[] = [];
  const elapsed = () => Number(globalThis.process.hrtime.bigint() - startedAt) / 1e9;
  const outcome = await eventually(
    async () => {
      const running = process.running;
      const done = await progress();
      const seconds = elapsed();
      samples.push({ seconds, done });
      const now = machineTicks(seconds);
      if (now) ticks.push(now);
      // Read while the process lives: a generator that is done exits, and its figures go with it.
      process.usage();
      if (done >= total) return 'done';
      return running ? undefined : 'exited';
    },
    timeoutMs,
    100,
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (done: ${samples.at(-1)?.done ?? 0} of ${total})`);
  });
  if (outcome === 'exited') {
    throw new Error(`the process under test exited after ${samples.at(-1)?.done ?? 0} of ${total} records:\n${process.logs.slice(-3000)}`);
  }
  const from = crossing(samples, total * 0.1);
  const to = crossing(samples, total * 0.9);
  const busy = from === undefined || to === undefined ? undefined : machineBusyPercent(ticks, from, to);
  return { rates: rates(samples, total), footprint: footprint(process), ...(busy === undefined ? {} : { machineBusyPercent: busy }) };
}

/** The values of the first `count` records of a topic, as text: what the checks after a run read. */
export async function sampleValues(ctx: BenchContext, topic: string, count = 20): Promise<string[]> {
  const records = await consumeRecords(ctx.kafka, topic, count);
  return records.map((record) => record.message.value?.toString('utf8') ?? '');
}

/** Every string of a record is upper-case: the peer did the work rather than copy the input. */
export function checkUpperCased(topic: string, values: readonly string[]): void {
  for (const text of values) {
    const strings = Object.values(JSON.parse(text) as Record<string, unknown>).filter((v): v is string => typeof v === 'string');
    if (strings.length === 0 || strings.some((v) => v !== v.toUpperCase()))
      throw new Error(`${topic} holds a record that is not upper-cased: ${text}`);
  }
}

/** Fills a topic with `count` real web logs from our generator at full speed; returns its rate. */
export async function fillWithWebLogs(ctx: BenchContext, topic: string, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  const generator = await ServiceProcess.start('weblog-generator', {
    KAFKA_TOPIC_INPUT: topic,
    GENERATOR_COUNT: String(count),
    GENERATOR_RATE: '0',
    GENERATOR_BATCH_SIZE: '2000',
    GENERATOR_SEED: '7',
    GENERATOR_EXIT_WHEN_DONE: 'true',
  });
  const { rates } = await watch(generator, started, recordsIn(ctx, topic), count, 900000);
  if ((await generator.waitForExit(60000)) !== 0) throw new Error(`the generator failed:\n${generator.logs.slice(-2000)}`);
  return rates.sustainedPerSecond;
}
