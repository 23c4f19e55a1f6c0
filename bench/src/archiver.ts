// Archiver benchmark: the output topic pre-filled with transformed web logs, then the archiver
// writes all of it to S3 at flush size 10 and 10,000, and at flush size 10 once more with every S3
// reply held back as an S3 endpoint some milliseconds away would. The limits beside it: how many
// objects of the same size a plain @aws-sdk/client-s3 PutObject loop stores at the archiver's
// default concurrency, and at the concurrency that suits the server best, the latter and the
// archiver in alternating rounds; and the archiver's own writes (conditional, with its metadata,
// through its store) in a loop at that concurrency, without Kafka. The S3 server's CPU time per
// object, beside each, tells what a write costs the server from what the writer adds.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { uniqueName } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { ArchiveStore, createS3Client, objectKey } from '@weblog/s3-archive';
import { BenchContext, committedBy, fillWithWebLogs, Footprint, freshTopics, recordsIn, RUN_FIGURES, watch } from './context';
import { medians, Rates, ratio, round, roundRatios, table } from './measure';
import { startTransformer } from './peers';
import { newestProfile, ProfileWindow, profileLines, stackShares, summarizeProfile } from './profile';
import { distantS3 } from './s3-distance';

const BUCKET = 'weblog-archive';
/** The archiver's default: uploads in flight at the same time (ARCHIVER_MAX_UPLOADS_IN_FLIGHT). */
const CONCURRENCY = 64;
/** The runs: flush size, and what each S3 reply is held back (0: the local server as it is). */
const RUNS = [
  { flushSize: 10, s3ReplyDelayMs: 0 },
  { flushSize: 10_000, s3ReplyDelayMs: 0 },
  { flushSize: 10, s3ReplyDelayMs: 20 },
] as const;
/** Seconds each loop of the table runs (`--loop-seconds`). */
export const DEFAULT_LOOP_SECONDS = 15;
/** Concurrencies a plain loop is tried at to find the server's best, each for SWEEP_SHARE of a loop's seconds. */
const SWEEP = [1, 3, 8, 16, 32, 64] as const;
const SWEEP_SHARE = 0.4;
/** What the archiver's CPU goes to, by the first of these its call stack reaches (script URLs). */
const STACK_GROUPS = {
  'S3 client': /@aws-sdk|@smithy|@aws-crypto/,
  'records (decode, archive line)': /record-filing|archive-line|codec/,
  kafkajs: /kafkajs/,
  'HTTP and sockets': /^node:(_http|net|internal\/streams|stream)/,
} as const;

export interface ArchiverRow extends Rates, Footprint {
  readonly flushSize: number;
  /** Milliseconds each S3 reply was held back, for the round trip of an S3 endpoint further away. */
  readonly s3ReplyDelayMs: number;
  readonly records: number;
  /** Seconds each loop of the row ran (the sweep's tries SWEEP_SHARE of it). */
  readonly loopSeconds: number;
  readonly objects: number;
  readonly averageObjectBytes: number;
  readonly objectsPerSecond: number;
  /** The S3 server's CPU time per object the archiver wrote, in ms, when the benchmark launched the server. */
  readonly serverCpuMsPerObject?: number;
  /** With `--profile`: the archiver's CPU profile in spans of the run, and its busy time by where its stacks go. */
  readonly profile?: { readonly windows: readonly ProfileWindow[]; readonly stacks: Record<string, number> };
  /** A plain loop at the archiver's concurrency. */
  readonly raw: RawPutRate;
  /**
   * A plain loop at the concurrency of the sweep that stored the most objects per second, in runs
   * of its own as long as `raw` (the first is `raw` itself when that concurrency is ours), one a
   * round: their medians.
   */
  readonly best: RawPutRate & { readonly concurrency: number };
  /** The short runs that chose `best`'s concurrency. */
  readonly sweep: readonly SweptRate[];
  /**
   * The archiver's own writes (`ArchiveStore.putIfAbsent`: If-None-Match, its metadata and keys)
   * of the same bytes in a loop at `best`'s concurrency, right after the best loop in each round:
   * the medians. What S3 costs the archiver's way of writing, without Kafka.
   */
  readonly conditional?: RawPutRate & { readonly concurrency: number };
  /**
   * Each round's objects/s, the archiver's, the best loop's and the conditional loop's, in the
   * order the rounds ran; the row's figures (and the loops') are their medians.
   */
  readonly rounds?: readonly {
    readonly objectsPerSecond: number;
    readonly bestObjectsPerSecond: number;
    readonly conditionalObjectsPerSecond?: number;
  }[];
}

export interface SweptRate {
  readonly concurrency: number;
  readonly objectsPerSecond: number;
}

/** The concurrency of the sweep's fastest run; the first of equals. */
export function fastest(sweep: readonly SweptRate[]): number {
  let best = sweep[0];
  for (const tried of sweep) if (best === undefined || tried.objectsPerSecond > best.objectsPerSecond) best = tried;
  if (best === undefined) throw new Error('no concurrency was tried');
  return best.concurrency;
}

export interface RawPutRate {
  readonly objectBytes: number;
  readonly objects: number;
  readonly objectsPerSecond: number;
  readonly mibPerSecond: number;
  /** The loop's own CPU time per object stored (this process does nothing else meanwhile), in ms. */
  readonly cpuMsPerObject: number;
  /** The S3 server's CPU time per object stored, in ms, when the benchmark launched the server. */
  readonly serverCpuMsPerObject?: number;
}

/**
 * How a loop writes: `plain`, a bare PutObject of the body under a key of its own; `archiver`, the
 * archiver's store writing it as an archive object of 10 records (conditional, with the object's
 * metadata, under the archiver's keys, its partition's generation looked up once).
 */
export type LoopWrites = 'plain' | 'archiver';

export interface RawPutOptions {
  readonly writes?: LoopWrites;
  /** The S3 server's CPU seconds so far (BenchContext.s3CpuSeconds), for serverCpuMsPerObject. */
  readonly serverCpuSeconds?: () => number | undefined;
}

/** Partitions the archiver-like loop spreads its objects over, as the benchmark's topics have. */
const LOOP_PARTITIONS = 3;

/** One write of the loop's `index`th object under `prefix`. */
export function loopWrite(archive: ArchiveStore, writes: LoopWrites, prefix: string, body: Buffer): (index: number) => Promise<unknown> {
  if (writes === 'plain')
    return (index) => archive.client.send(new PutObjectCommand({ Bucket: archive.bucket, Key: `${prefix}/${index}`, Body: body }));
  const format = { layout: 'offset', topicsDir: prefix, naming: 'archiver', zeroPadWidth: 20, gzip: false } as const;
  return async (index) => {
    const partition = index % LOOP_PARTITIONS;
    const firstOffset = BigInt(Math.floor(index / LOOP_PARTITIONS) * 10);
    const range = { topic: 'output', partition, firstOffset, lastOffset: firstOffset + 9n, recordCount: 10 };
    const put = await archive.putIfAbsent(objectKey(format, range, ''), [body], range, false);
    if (!put.created) throw new Error(`the loop's object ${put.key} existed`);
  };
}

function store(endpoint = process.env['S3_ENDPOINT']): ArchiveStore {
  return new ArchiveStore(
    createS3Client({
      S3_BUCKET: BUCKET,
      S3_REGION: process.env['S3_REGION'] ?? 'us-east-1',
      S3_FORCE_PATH_STYLE: true,
      S3_ENDPOINT: endpoint,
    }),
    BUCKET,
  );
}

/** Objects of `body` stored back to back by `concurrency` loops for `seconds`. */
export async function rawPutRate(
  archive: ArchiveStore,
  body: Buffer,
  concurrency: number,
  seconds: number,
  options: RawPutOptions = {},
): Promise<RawPutRate> {
  const write = loopWrite(archive, options.writes ?? 'plain', uniqueName('bench-raw-put'), body);
  const serverBefore = options.serverCpuSeconds?.();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let stored = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (elapsed() < seconds) await write(stored++);
    }),
  );
  const took = elapsed();
  const cpu = process.cpuUsage(cpuBefore);
  const serverCpuMs = cpuMsPerObject(serverBefore, options.serverCpuSeconds?.(), stored);
  return {
    objectBytes: body.length,
    objects: stored,
    objectsPerSecond: round(stored / took, 1),
    mibPerSecond: round((stored * body.length) / took / 2 ** 20, 1),
    cpuMsPerObject: round((cpu.user + cpu.system) / 1000 / Math.max(stored, 1), 3),
    ...(serverCpuMs === undefined ? {} : { serverCpuMsPerObject: serverCpuMs }),
  };
}

/** CPU milliseconds per object between two readings of a process's CPU seconds; undefined without both. */
export function cpuMsPerObject(before: number | undefined, after: number | undefined, objects: number): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  return round(((after - before) * 1000) / Math.max(objects, 1), 3);
}

/** Rounds of each row by default: the archiver and the loops at the best concurrency, alternating, each figure the median. */
export const DEFAULT_ARCHIVER_ROUNDS = 3;

/** One run of the archiver over the whole output topic. */
export interface ArchiverRun extends Rates, Footprint {
  readonly objects: number;
  readonly averageObjectBytes: number;
  readonly objectsPerSecond: number;
  /** The key of one object it wrote, whose bytes the plain loops store. */
  readonly sample: string;
  /** The S3 server's CPU time per object written, from the archiver's start to its stop, in ms. */
  readonly serverCpuMsPerObject?: number;
  readonly profile?: ArchiverRow['profile'];
}

/** What each archiver run of a row reads, and the S3 endpoint it writes to. */
interface ArchiverSetup {
  readonly topics: Record<'input' | 'output' | 'dead-letter', string>;
  readonly flushSize: number;
  readonly records: number;
  /** The S3 endpoint the archiver is given: the relay that holds replies back, if any. */
  readonly endpoint?: string;
}

async function runArchiver(ctx: BenchContext, archive: ArchiveStore, setup: ArchiverSetup, profileDir?: string): Promise<ArchiverRun> {
  const { topics, flushSize, records, endpoint } = setup;
  const group = uniqueName('bench-archiver');
  const serverBefore = ctx.s3CpuSeconds();
  const startedAt = process.hrtime.bigint();
  const archiver = await ServiceProcess.start('s3-archiver', {
    KAFKA_TOPIC_INPUT: topics.input,
    KAFKA_TOPIC_OUTPUT: topics.output,
    KAFKA_TOPIC_DEAD_LETTER: topics['dead-letter'],
    ARCHIVER_GROUP_ID: group,
    ARCHIVER_FLUSH_SIZE: String(flushSize),
    // Each partition's tail is written by time; a short wait keeps it out of the figures.
    ARCHIVER_ROTATE_INTERVAL_MS: '1000',
    ARCHIVER_TOPICS_DIR: group,
    S3_BUCKET: BUCKET,
    ...(endpoint ? { S3_ENDPOINT: endpoint } : {}),
    ...(profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {}),
  });
  let measured: Awaited<ReturnType<typeof watch>>;
  try {
    // Offsets are committed only after the upload: committed records are records in S3.
    measured = await watch(archiver, startedAt, committedBy(ctx, group, topics.output), records, 1_800_000);
  } finally {
    await archiver.stop();
  }
  const serverAfter = ctx.s3CpuSeconds();
  let objects = 0;
  let bytes = 0;
  let sample = '';
  for await (const object of archive.list(`${group}/`)) {
    objects++;
    bytes += object.size;
    if (objects === 1) sample = object.key;
  }
  // Written as the process exits.
  const cpuProfile = profileDir === undefined ? undefined : newestProfile(profileDir);
  const profile = cpuProfile && { windows: summarizeProfile(cpuProfile, 2), stacks: stackShares(cpuProfile, STACK_GROUPS) };
  if (profile) {
    for (const line of profileLines(profile.windows)) ctx.say(line);
    ctx.say(
      `  by stack: ${Object.entries(profile.stacks)
        .map(([group, share]) => `${group} ${share} %`)
        .join(', ')}`,
    );
  }
  const objectsPerSecond = round(measured.rates.sustainedPerSecond / flushSize, 1);
  const serverCpuMs = cpuMsPerObject(serverBefore, serverAfter, objects);
  ctx.say(
    `  archiver: ${measured.rates.sustainedPerSecond.toLocaleString('en-US')} records/s, ${objectsPerSecond} objects/s${serverShare(serverCpuMs)}`,
  );
  return {
    ...measured.rates,
    ...measured.footprint,
    objects,
    averageObjectBytes: Math.round(bytes / Math.max(objects, 1)),
    objectsPerSecond,
    sample,
    ...(serverCpuMs === undefined ? {} : { serverCpuMsPerObject: serverCpuMs }),
    ...(profile ? { profile } : {}),
  };
}

/**
 * Each row: the archiver writes the whole output topic, a plain loop at our concurrency and the
 * sweep follow, then the loops at the sweep's fastest concurrency (the best plain loop, then the
 * archiver's writes in a loop); in each further round the loops and the archiver run again, the
 * loops first in every other round. The row's figures are the medians of the rounds.
 */
export async function benchArchiver(
  ctx: BenchContext,
  records: number,
  rounds = DEFAULT_ARCHIVER_ROUNDS,
  loopSeconds = DEFAULT_LOOP_SECONDS,
): Promise<ArchiverRow[]> {
  const topics = await freshTopics(ctx, 'bench-archiver', ['input', 'output', 'dead-letter']);
  ctx.say(`pre-filling ${records.toLocaleString('en-US')} web logs, then upper-casing them into the output topic`);
  await fillWithWebLogs(ctx, topics.input, records);
  const filler = await startTransformer({
    ...topics,
    deadLetter: topics['dead-letter'],
    groupId: `${topics.output}-fill`,
    guarantee: 'at-least-once',
  });
  await watch(filler, process.hrtime.bigint(), recordsIn(ctx, topics.output), records, 900000);
  await filler.stop();

  const archive = store();
  const rows: ArchiverRow[] = [];
  for (const { flushSize, s3ReplyDelayMs } of RUNS) {
    const distant = s3ReplyDelayMs > 0 ? await distantS3(process.env['S3_ENDPOINT'] ?? '', s3ReplyDelayMs) : undefined;
    const loopTarget = distant ? store(distant.endpoint) : archive;
    const setup: ArchiverSetup = { topics, flushSize, records, ...(distant ? { endpoint: distant.endpoint } : {}) };
    ctx.say(`archiver, flush size ${flushSize.toLocaleString('en-US')}${distant ? `, each S3 reply ${s3ReplyDelayMs} ms later` : ''}`);
    const profileDir = ctx.profileDir === undefined ? undefined : path.join(ctx.profileDir, `archiver-${rows.length}`);
    try {
      const first = await runArchiver(ctx, archive, setup, profileDir);
      const archiverRuns = [first];
      // The limit: the same bytes as a real object, stored by a plain loop over the same distance.
      const body = await archive.read(first.sample);
      ctx.say(`  plain PutObject loop, ${body.length.toLocaleString('en-US')}-byte objects, concurrency ${CONCURRENCY}`);
      const serverCpuSeconds = ctx.s3CpuSeconds;
      const raw = await rawPutRate(loopTarget, body, CONCURRENCY, loopSeconds, { serverCpuSeconds });
      const sweep: SweptRate[] = [];
      for (const concurrency of SWEEP) {
        const tried = await rawPutRate(loopTarget, body, concurrency, loopSeconds * SWEEP_SHARE);
        ctx.say(`  plain PutObject loop at concurrency ${concurrency}: ${tried.objectsPerSecond} objects/s`);
        sweep.push({ concurrency, objectsPerSecond: tried.objectsPerSecond });
      }
      // The sweep only picks the concurrency; the peer is a run of its own at it, as long as the
      // loop at ours: the highest of seven short runs on a shared machine is partly luck.
      const bestConcurrency = fastest(sweep);
      const bestRuns: RawPutRate[] = [];
      const conditionalRuns: RawPutRate[] = [];
      const loops = async (first: boolean): Promise<void> => {
        const best =
          first && bestConcurrency === CONCURRENCY
            ? raw
            : await rawPutRate(loopTarget, body, bestConcurrency, loopSeconds, { serverCpuSeconds });
        ctx.say(
          `  plain PutObject loop at concurrency ${bestConcurrency}, the sweep's fastest: ${best.objectsPerSecond} objects/s${serverShare(best.serverCpuMsPerObject)}`,
        );
        bestRuns.push(best);
        const conditional = await rawPutRate(loopTarget, body, bestConcurrency, loopSeconds, { writes: 'archiver', serverCpuSeconds });
        ctx.say(
          `  the archiver's writes in a loop at concurrency ${bestConcurrency}: ${conditional.objectsPerSecond} objects/s${serverShare(conditional.serverCpuMsPerObject)}`,
        );
        conditionalRuns.push(conditional);
      };
      await loops(true);
      for (let pass = 1; pass < rounds; pass++) {
        ctx.say(`  round ${pass + 1} of ${rounds}`);
        if (pass % 2 === 1) await loops(false);
        archiverRuns.push(await runArchiver(ctx, archive, setup));
        if (pass % 2 === 0) await loops(false);
      }
      rows.push({
        ...medianArchiverRun(archiverRuns),
        flushSize,
        s3ReplyDelayMs,
        records,
        loopSeconds,
        raw,
        best: { ...medianRawRate(bestRuns), concurrency: bestConcurrency },
        conditional: { ...medianRawRate(conditionalRuns), concurrency: bestConcurrency },
        sweep,
        rounds: archiverRuns.map((run, i) => ({
          objectsPerSecond: run.objectsPerSecond,
          bestObjectsPerSecond: bestRuns[i]?.objectsPerSecond ?? 0,
          conditionalObjectsPerSecond: conditionalRuns[i]?.objectsPerSecond ?? 0,
        })),
      });
    } finally {
      if (distant) {
        loopTarget.client.destroy();
        await distant.close();
      }
    }
  }
  archive.client.destroy();
  return rows;
}

/** The S3 server's CPU per object as a progress line ends, when it was measured. */
function serverShare(serverCpuMs: number | undefined): string {
  return serverCpuMs === undefined ? '' : `, the S3 server ${serverCpuMs} ms of CPU an object`;
}

/** Each figure's median over the archiver's runs (the profile only when there was one run). */
export function medianArchiverRun(runs: readonly ArchiverRun[]): Omit<ArchiverRun, 'sample'> {
  const figures = medians(runs, [...RUN_FIGURES, 'objects', 'averageObjectBytes', 'objectsPerSecond', 'serverCpuMsPerObject']);
  const profile = runs.length === 1 ? runs[0]?.profile : undefined;
  return { ...figures, ...(profile ? { profile } : {}) };
}

/** Each figure's median over a loop's runs. */
export function medianRawRate(runs: readonly RawPutRate[]): RawPutRate {
  return medians(runs, ['objectBytes', 'objects', 'objectsPerSecond', 'mibPerSecond', 'cpuMsPerObject', 'serverCpuMsPerObject']);
}

export function archiverTable(rows: ArchiverRow[]): string {
  const figures = table(
    [
      'flush size',
      'S3 reply held back ms',
      'records',
      'objects',
      'object bytes',
      'sustained records/s',
      'objects/s',
      "each round, objects/s (best loop / the archiver's writes in a loop)",
      `plain PutObject objects/s (MiB/s), concurrency ${CONCURRENCY}`,
      'vs plain loop',
      'best plain PutObject objects/s (concurrency)',
      'vs best',
      'vs best, each round',
      "the archiver's writes in a loop, objects/s (concurrency)",
      'vs its writes',
      'start-up s',
      'total s',
      'peak RSS MiB',
      'CPU s',
      'CPU ms per object (best loop)',
      "S3 server's CPU ms per object: archiver / best loop / its writes",
    ],
    rows.map((r) => [
      r.flushSize,
      r.s3ReplyDelayMs,
      r.records,
      r.objects,
      r.averageObjectBytes,
      r.sustainedPerSecond,
      r.objectsPerSecond,
      (r.rounds ?? [])
        .map((each) => `${each.objectsPerSecond} (${each.bestObjectsPerSecond} / ${each.conditionalObjectsPerSecond ?? 'n/a'})`)
        .join(', '),
      `${r.raw.objectsPerSecond} (${r.raw.mibPerSecond})`,
      ratio(r.objectsPerSecond, r.raw.objectsPerSecond),
      `${r.best.objectsPerSecond} (${r.best.concurrency})`,
      ratio(r.objectsPerSecond, r.best.objectsPerSecond),
      roundRatios(
        r.rounds?.map((each) => each.objectsPerSecond),
        r.rounds?.map((each) => each.bestObjectsPerSecond),
      ) || 'n/a',
      r.conditional ? `${r.conditional.objectsPerSecond} (${r.conditional.concurrency})` : 'not measured',
      r.conditional ? ratio(r.objectsPerSecond, r.conditional.objectsPerSecond) : 'n/a',
      r.startupSeconds,
      r.totalSeconds,
      r.peakRssMiB,
      r.cpuSeconds,
      `${round((r.cpuSeconds * 1000) / Math.max(r.objects, 1), 2)} (${round(r.best.cpuMsPerObject, 2)})`,
      [r.serverCpuMsPerObject, r.best.serverCpuMsPerObject, r.conditional?.serverCpuMsPerObject]
        .map((ms) => (ms === undefined ? 'not measured' : round(ms, 2)))
        .join(' / '),
    ]),
  );
  const rounds = rows[0]?.rounds?.length ?? 1;
  if (rounds < 2) return figures;
  return `${figures}\n\nThe archiver's figures and the loops' at the best concurrency are the medians of ${rounds} rounds: the first runs the archiver, the loop at ${CONCURRENCY}, the sweep, the best loop and the archiver's writes in a loop; each further round the two loops and the archiver again, the loops first in every other round. The archiver's writes in a loop are its store's conditional PutObject (If-None-Match, the object's metadata, its keys) of the same bytes, without Kafka.`;
}
