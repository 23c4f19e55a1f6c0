// Transformer benchmark: one input topic pre-filled with real web logs, then each contender reads
// all of it into an output topic of its own, one after another, on the same broker, in rounds.
import path from 'node:path';
import {
  BenchContext,
  checkUpperCased,
  committedBy,
  fillWithWebLogs,
  Footprint,
  freshTopics,
  recordsIn,
  RUN_FIGURES,
  sampleValues,
  watch,
} from './context';
import { medians, Rates, ratio, round, roundRatios, table } from './measure';
import { Guarantee, Measured, startKafkajsLoop, startPython, startStreams, startTransformer, together } from './peers';
import { newestProfile, ProfileWindow, profileLines, summarizeProfile } from './profile';

/** Spans of a profiled run the summary compares: start-up and warm-up, then the steady state in three. */
const PROFILE_WINDOWS = 4;

export interface TransformerRow extends Rates, Footprint {
  readonly contender: string;
  readonly guarantee: string;
  readonly records: number;
  /** Records per second of CPU time the process used: what one core carries. */
  readonly recordsPerCpuSecond: number;
  /**
   * CPU seconds the broker used from the contender's start to its last record: what its requests
   * cost the server. Only when the broker was launched by the benchmark.
   */
  readonly brokerCpuSeconds?: number;
  /** Records per CPU second of the contender and the broker together: what a record costs the machine. */
  readonly recordsPerCpuSecondWithBroker?: number;
  /**
   * How busy the machine's CPUs were between 10 % and 90 % of the records, every process counted:
   * below the peer's, the contender leaves cores idle that it could use.
   */
  readonly machineBusyPercent?: number;
  /** With `--profile`, for our single process: its CPU profile in spans of the run. */
  readonly profile?: readonly ProfileWindow[];
  /** Sustained records/s of each round, in the order the rounds ran; the figures above are their medians. */
  readonly rounds?: readonly number[];
}

export interface TransformerResult {
  readonly records: number;
  /** Rounds of every compared contender. */
  readonly rounds: number;
  readonly generatorPerSecond: number;
  readonly rows: TransformerRow[];
  /** The unmeasured runs before each guarantee's first contender (`warmUp`). */
  readonly warmUps: readonly WarmUp[];
}

/** A run whose figures are not compared: the broker's paths of a guarantee warmed for whoever runs first. */
export interface WarmUp {
  readonly contender: string;
  readonly guarantee: string;
  readonly sustainedPerSecond: number;
}

export interface Contender {
  readonly name: string;
  readonly guarantee: Guarantee | 'auto-commit';
  /** Where its CPU profile is written, when it is profiled. */
  readonly profileDir?: string;
  start(topics: { input: string; output: string; deadLetter: string }, group: string): Promise<Measured>;
  /**
   * A check of the first records of its output topic after its run (`sampleValues`), beside the
   * upper-casing every contender's output is held to.
   */
  verify?(output: string, values: readonly string[]): void;
}

/** Instances of our transformer (processes in one group) and stream threads of Kafka Streams when both cores are used. */
export const PARALLELISM = 2;

/** Our transformer's row, one process. */
export const OURS = 'weblog transformer';

/** The bare kafkajs loop's row: the peer our single process is held to at least once. */
export const KAFKAJS_LOOP = 'kafkajs loop (no JSON)';

export function contenders(ctx: BenchContext, extraEnv: Record<string, string> = {}): Contender[] {
  const ours = (guarantee: Guarantee, instances = 1): Contender => {
    const profileDir = instances === 1 && ctx.profileDir !== undefined ? path.join(ctx.profileDir, guarantee) : undefined;
    const extra = profileDir === undefined ? extraEnv : { ...extraEnv, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` };
    return {
      name: instances === 1 ? OURS : `${OURS}, ${instances} processes`,
      guarantee,
      ...(profileDir === undefined ? {} : { profileDir }),
      start: async (topics, groupId) =>
        together(await Promise.all(Array.from({ length: instances }, () => startTransformer({ ...topics, groupId, guarantee, extra })))),
    };
  };
  const streams = (guarantee: Guarantee, threads?: number): Contender => ({
    name: threads === undefined ? 'Kafka Streams' : `Kafka Streams, ${threads} stream threads`,
    guarantee,
    start: (topics, applicationId) =>
      Promise.resolve(
        startStreams(ctx.peers, { brokers: ctx.brokers, ...topics, applicationId, guarantee, ...(threads ? { threads } : {}) }),
      ),
  });
  return [
    ours('at-least-once'),
    streams('at-least-once'),
    ours('at-least-once', PARALLELISM),
    streams('at-least-once', PARALLELISM),
    ours('exactly-once'),
    streams('exactly-once'),
    ours('exactly-once', PARALLELISM),
    streams('exactly-once', PARALLELISM),
    {
      name: KAFKAJS_LOOP,
      guarantee: 'at-least-once',
      start: (topics, groupId) => Promise.resolve(startKafkajsLoop({ brokers: ctx.brokers, ...topics, groupId })),
    },
    {
      name: 'kafka-python loop',
      guarantee: 'auto-commit',
      start: (topics, groupId) => Promise.resolve(startPython(ctx.peers, { brokers: ctx.brokers, ...topics, groupId })),
    },
  ];
}

/** Rounds of the table by default: each compared contender's figures are the medians of its rounds. */
export const DEFAULT_ROUNDS = 3;

/**
 * Every contender reads the whole input, `rounds` times: each round runs every compared contender
 * once, the rounds alternately in the list's order and in reverse, so none always follows the same
 * neighbour or always runs earlier in the broker's life. A row holds the medians of its
 * contender's rounds. The auto-commit loop is compared with nothing and runs once, last.
 */
export async function benchTransformer(
  ctx: BenchContext,
  records: number,
  rounds = DEFAULT_ROUNDS,
  all: readonly Contender[] = contenders(ctx),
): Promise<TransformerResult> {
  const { input } = await freshTopics(ctx, 'bench-transformer', ['input']);
  ctx.say(`pre-filling ${records.toLocaleString('en-US')} web logs with the generator`);
  const fill = await fillWithWebLogs(ctx, input, records);
  ctx.say(`  ${fill.toLocaleString('en-US')} records/s`);
  const compared = all.filter((c) => c.guarantee !== 'auto-commit');
  const runs = new Map<Contender, TransformerRow[]>(all.map((c) => [c, []]));
  const warmUps: WarmUp[] = [];
  for (let pass = 0; pass < rounds; pass++) {
    if (rounds > 1) ctx.say(`round ${pass + 1} of ${rounds}`);
    for (const contender of pass % 2 === 0 ? compared : [...compared].reverse()) {
      if (!warmUps.some((w) => w.guarantee === contender.guarantee)) warmUps.push(await warmUp(ctx, contender, input, records));
      runs.get(contender)?.push(await runContender(ctx, contender, input, records));
    }
  }
  for (const contender of all.filter((c) => !compared.includes(c)))
    runs.get(contender)?.push(await runContender(ctx, contender, input, records));
  return { records, rounds, generatorPerSecond: fill, rows: all.map((c) => medianRow(runs.get(c) ?? [])), warmUps };
}

/** A contender's rounds as one row: each figure's median, and every round's sustained rate in the order they ran (the profile only when there was one run). */
export function medianRow(runs: readonly TransformerRow[]): TransformerRow {
  const first = runs[0];
  if (!first) throw new Error('a contender with no run');
  const figures = medians(runs, [
    ...RUN_FIGURES,
    'recordsPerCpuSecond',
    'brokerCpuSeconds',
    'recordsPerCpuSecondWithBroker',
    'machineBusyPercent',
  ]);
  return {
    contender: first.contender,
    guarantee: first.guarantee,
    records: first.records,
    ...figures,
    // A profile is one run's, and a profiled run is a single round.
    ...(runs.length === 1 && first.profile !== undefined ? { profile: first.profile } : {}),
    rounds: runs.map((r) => r.sustainedPerSecond),
  };
}

/**
 * One run of `contender` before the first measured run of its guarantee, its figures set aside.
 * In the alternating rounds of `--against` the first round of each guarantee was the slowest of
 * its series for both builds, at least once right after the fill and exactly once after ten
 * at-least-once runs: the broker serves a path (reading a freshly written topic, transactions,
 * reading up to the last stable offset) at full speed only after it has served it a while. Without
 * this the first contender of each guarantee, ours in the table, paid for everyone's warm-up.
 */
export async function warmUp(ctx: BenchContext, contender: Contender, input: string, records: number): Promise<WarmUp> {
  ctx.say(`warm-up, not measured:`);
  const row = await runContender(ctx, contender, input, records);
  return { contender: row.contender, guarantee: row.guarantee, sustainedPerSecond: row.sustainedPerSecond };
}

/** One contender reads all of `input` into an output topic of its own; its rates and footprint. */
export async function runContender(ctx: BenchContext, contender: Contender, input: string, records: number): Promise<TransformerRow> {
  const topics = await freshTopics(ctx, 'bench-out', ['output', 'dead-letter']);
  const output = topics.output;
  const group = `${output}-group`;
  ctx.say(`${contender.name}, ${contender.guarantee}`);
  const brokerBefore = ctx.brokerCpuSeconds();
  const startedAt = process.hrtime.bigint();
  const running = await contender.start({ input: input, output, deadLetter: topics['dead-letter'] }, group);
  let row: TransformerRow;
  try {
    // With transactions the group's committed offsets are what the output holds; without, the output's ends.
    const progress = contender.guarantee === 'exactly-once' ? committedBy(ctx, group, input) : recordsIn(ctx, output);
    const { rates, footprint, machineBusyPercent } = await watch(running, startedAt, progress, records, 1_800_000);
    const brokerAfter = ctx.brokerCpuSeconds();
    const brokerCpuSeconds = brokerBefore === undefined || brokerAfter === undefined ? undefined : round(brokerAfter - brokerBefore, 1);
    row = {
      contender: contender.name,
      guarantee: contender.guarantee,
      records,
      ...rates,
      ...footprint,
      recordsPerCpuSecond: Math.round(records / Math.max(footprint.cpuSeconds, 0.1)),
      ...(brokerCpuSeconds === undefined
        ? {}
        : {
            brokerCpuSeconds,
            recordsPerCpuSecondWithBroker: Math.round(records / Math.max(footprint.cpuSeconds + brokerCpuSeconds, 0.1)),
          }),
      ...(machineBusyPercent === undefined ? {} : { machineBusyPercent }),
    };
    const broker = brokerCpuSeconds === undefined ? '' : ` (the broker ${brokerCpuSeconds})`;
    const busy = machineBusyPercent === undefined ? '' : `, machine ${machineBusyPercent} % busy`;
    ctx.say(
      `  ${rates.sustainedPerSecond.toLocaleString('en-US')} records/s sustained, ${footprint.peakRssMiB} MiB, ${footprint.cpuSeconds} CPU s${broker}${busy}`,
    );
  } finally {
    await running.stop();
  }
  // Written as the process exits.
  const profile = contender.profileDir === undefined ? undefined : newestProfile(contender.profileDir);
  if (profile !== undefined) {
    const windows = summarizeProfile(profile, PROFILE_WINDOWS);
    row = { ...row, profile: windows };
    for (const line of profileLines(windows)) ctx.say(line);
  }
  // One read of the output for both checks: each read joins a consumer group of its own.
  const values = await sampleValues(ctx, output);
  checkUpperCased(output, values);
  contender.verify?.(output, values);
  return row;
}

/** A row's rate in each round, in the order the rounds ran (its one rate when it ran once). */
export function eachRound(row: TransformerRow): string {
  return (row.rounds ?? [row.sustainedPerSecond]).map((perSecond) => perSecond.toLocaleString('en-US')).join(', ');
}

export function transformerTable(result: TransformerResult): string {
  const streams = (guarantee: string, name: string) => result.rows.find((r) => r.contender === name && r.guarantee === guarantee);
  // Two processes of ours are compared with two stream threads; everything else with Kafka Streams' defaults.
  const peerOf = (row: TransformerRow) =>
    streams(
      row.guarantee === 'auto-commit' ? 'at-least-once' : row.guarantee,
      row.contender.endsWith(`${PARALLELISM} processes`) || row.contender.endsWith('stream threads')
        ? `Kafka Streams, ${PARALLELISM} stream threads`
        : 'Kafka Streams',
    );
  const figures = table(
    [
      'contender',
      'guarantee',
      'records',
      'sustained records/s',
      'each round',
      'vs Kafka Streams',
      'vs Kafka Streams, each round',
      'records per CPU-second',
      'vs Kafka Streams',
      'broker CPU s',
      'records per CPU-second with the broker',
      'vs Kafka Streams',
      'machine busy %',
      'second half vs first',
      'start-up s',
      'total s',
      'peak RSS MiB',
    ],
    result.rows.map((r) => [
      r.contender,
      r.guarantee,
      r.records,
      r.sustainedPerSecond,
      eachRound(r),
      ratio(r.sustainedPerSecond, peerOf(r)?.sustainedPerSecond ?? 0),
      roundRatios(r.rounds, peerOf(r)?.rounds) || 'n/a',
      r.recordsPerCpuSecond,
      ratio(r.recordsPerCpuSecond, peerOf(r)?.recordsPerCpuSecond ?? 0),
      r.brokerCpuSeconds ?? 'not measured',
      r.recordsPerCpuSecondWithBroker ?? 'not measured',
      r.recordsPerCpuSecondWithBroker === undefined
        ? ''
        : ratio(r.recordsPerCpuSecondWithBroker, peerOf(r)?.recordsPerCpuSecondWithBroker ?? 0),
      r.machineBusyPercent ?? 'not measured',
      `${r.lateVsEarly.toFixed(2)}x`,
      r.startupSeconds,
      r.totalSeconds,
      r.peakRssMiB,
    ]),
  );
  return `${figures}${loopNote(result)}${roundsNote(result.rounds)}${warmUpNote(result.warmUps)}`;
}

/** Our single process against the bare kafkajs loop, at least once: by the medians and round by round. */
function loopNote(result: TransformerResult): string {
  const ours = result.rows.find((r) => r.contender === OURS && r.guarantee === 'at-least-once');
  const loop = result.rows.find((r) => r.contender === KAFKAJS_LOOP);
  if (!ours || !loop) return '';
  const each = roundRatios(ours.rounds, loop.rounds);
  return `\n\nOur transformer (one process, at least once) against the kafkajs loop: ${ratio(ours.sustainedPerSecond, loop.sustainedPerSecond)} by the medians${each ? `, ${each} round by round` : ''}.`;
}

/** How the rows were measured, under the table. */
function roundsNote(rounds: number | undefined): string {
  if (rounds === undefined || rounds < 2) return '';
  return `\n\nEach figure is the median of ${rounds} rounds; every round ran each compared contender once, the rounds alternately in the table's order and in reverse (the kafka-python loop once, last).`;
}

/** The warm-up runs under a table, so a reader sees what ran before the first measured run. */
export function warmUpNote(warmUps: readonly WarmUp[] | undefined): string {
  if (!warmUps || warmUps.length === 0) return '';
  const runs = warmUps.map((w) => `${w.contender}, ${w.guarantee}, ${w.sustainedPerSecond.toLocaleString('en-US')} records/s`);
  return `\n\nBefore the first measured run of each guarantee, one unmeasured warm-up run: ${runs.join('; ')}.`;
}
