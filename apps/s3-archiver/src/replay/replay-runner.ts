import { Logger } from '@nestjs/common';
import { KafkaMessage, Producer } from 'kafkajs';
import { OutgoingRecord, sendRecords, TopicRef, TransformedWebLog } from '@weblog/kafka-common';
import { ArchiveObject, ArchiveProblem, ArchiveStore, listArchive, readArchiveObject } from '@weblog/s3-archive';
import { RecordPredicate } from './record-filter';
import { TargetLog } from './target-log';

export interface ReplayOptions {
  /** The archived topic to read back. */
  readonly sourceTopic: string;
  readonly topicsDir: string;
  readonly target: TopicRef<TransformedWebLog>;
  readonly targetPartitions: number;
  /** The target topic as a log, read on resume for what the interrupted run wrote after its last checkpoint. */
  readonly targetLog: TargetLog;
  readonly partitions?: readonly number[];
  readonly keep: RecordPredicate;
  /** Names the checkpoint; with `resume`, records handled by an earlier run of that name are not produced again. */
  readonly checkpointId: string;
  readonly resume: boolean;
  readonly progressEveryMs?: number;
  /** Records handled between two checkpoints (default 2000). */
  readonly chunkRecords?: number;
}

export interface ReplaySummary {
  objects: number;
  objectsSkipped: number;
  recordsRead: number;
  recordsProduced: number;
  recordsFilteredOut: number;
  /** Records read again on resume that an earlier run had already produced (or filtered out). */
  recordsAlreadyHandled: number;
  problems: ArchiveProblem[];
  seconds: number;
}

/** Where a partition's replay stands: the last record handled, by its generation and offset. */
interface Position {
  readonly generation: number;
  readonly offset: bigint;
}

/**
 * Written after every chunk of records is acknowledged. `positions`: per original partition, the
 * last record handled (produced, or filtered out). `targetEnds`: the target's end offsets then, so
 * a resume reads only what an interrupted run wrote after it. `produced`: records beyond the
 * positions known to be in the target already (from such a read), not to be produced again.
 */
interface Checkpoint {
  readonly version: 2;
  readonly positions: Record<string, { generation: number; offset: string }>;
  readonly targetEnds: Record<string, string>;
  readonly produced: string[];
}

/** The first format: per original partition, the first offset of the last object fully replayed. */
type LegacyCheckpoint = Record<string, string>;

export const REPLAY_HEADER_SOURCE = 'replay-source-object';
/** `<source topic>/<checkpoint name>`: which replay produced a record. */
export const REPLAY_HEADER_RUN = 'replay-run';
export const REPLAY_HEADER_PARTITION = 'replay-source-partition';
export const REPLAY_HEADER_OFFSET = 'replay-source-offset';
export const REPLAY_HEADER_GENERATION = 'replay-source-generation';

const coordinate = (generation: number, partition: number, offset: bigint) => `${generation}/${partition}/${offset}`;

function parseCoordinate(text: string): { generation: number; partition: number; offset: bigint } | undefined {
  const match = /^(\d+)\/(\d+)\/(\d+)$/.exec(text);
  return match ? { generation: Number(match[1]), partition: Number(match[2]), offset: BigInt(match[3] ?? '0') } : undefined;
}

/** Whether the record at (generation, offset) comes after `position` in its partition's log. */
function isAfter(position: Position | undefined, generation: number, offset: bigint): boolean {
  if (!position) return true;
  return generation !== position.generation ? generation > position.generation : offset > position.offset;
}

function isCheckpoint(value: unknown): value is Checkpoint {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)['version'] === 2;
}

function headerText(message: KafkaMessage, name: string): string | undefined {
  const raw = message.headers?.[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

/** The progress of one replay, and its checkpoint in the bucket. */
class ReplayProgress {
  readonly positions = new Map<number, Position>();
  readonly legacyDone = new Map<number, bigint>();
  readonly produced = new Set<string>();
  private targetEnds = new Map<number, bigint>();

  constructor(
    private readonly store: ArchiveStore,
    private readonly key: string,
    readonly run: string,
    private readonly targetLog: TargetLog,
  ) {}

  /** Loads an earlier run's checkpoint and learns what it produced after that checkpoint. */
  async resume(): Promise<void> {
    const stored = await this.store.readJson(this.key);
    if (isCheckpoint(stored)) {
      for (const [partition, position] of Object.entries(stored.positions))
        this.positions.set(Number(partition), { generation: position.generation, offset: BigInt(position.offset) });
      for (const entry of stored.produced) this.produced.add(entry);
      const from = new Map(Object.entries(stored.targetEnds).map(([partition, offset]) => [Number(partition), BigInt(offset)]));
      await this.targetLog.readSince(from, (_partition, message) => {
        if (headerText(message, REPLAY_HEADER_RUN) !== this.run) return;
        const generation = headerText(message, REPLAY_HEADER_GENERATION);
        const partition = headerText(message, REPLAY_HEADER_PARTITION);
        const offset = headerText(message, REPLAY_HEADER_OFFSET);
        if (generation !== undefined && partition !== undefined && offset !== undefined)
          this.produced.add(`${generation}/${partition}/${offset}`);
      });
    } else if (typeof stored === 'object' && stored !== null) {
      for (const [partition, done] of Object.entries(stored as LegacyCheckpoint)) this.legacyDone.set(Number(partition), BigInt(done));
    }
  }

  /** Records the target's ends and every position; produced records at or before a position are forgotten. */
  async save(): Promise<void> {
    this.targetEnds = await this.targetLog.endOffsets();
    for (const entry of this.produced) {
      const c = parseCoordinate(entry);
      if (!c || !isAfter(this.positions.get(c.partition), c.generation, c.offset)) this.produced.delete(entry);
    }
    const checkpoint: Checkpoint = {
      version: 2,
      positions: Object.fromEntries(
        [...this.positions].map(([partition, p]) => [String(partition), { generation: p.generation, offset: p.offset.toString() }]),
      ),
      targetEnds: Object.fromEntries([...this.targetEnds].map(([partition, end]) => [String(partition), end.toString()])),
      produced: [...this.produced],
    };
    await this.store.putJson(this.key, checkpoint);
  }
}

/**
 * Reads a topic's archive back into Kafka: each original partition in log order (generation, then
 * offset), each record to the same partition number (by key when the target has fewer), so
 * per-partition order survives. Every chunk of records is followed by a checkpoint naming the
 * last record handled per original partition; a resumed run starts after it, and skips what the
 * interrupted run produced after its last checkpoint (found in the target by the records' replay
 * headers), so a crash in the middle of an object repeats and loses nothing.
 */
export async function replayArchive(
  store: ArchiveStore,
  producer: Producer,
  options: ReplayOptions,
  logger = new Logger('Replay'),
): Promise<ReplaySummary> {
  const started = Date.now();
  const summary: ReplaySummary = {
    objects: 0,
    objectsSkipped: 0,
    recordsRead: 0,
    recordsProduced: 0,
    recordsFilteredOut: 0,
    recordsAlreadyHandled: 0,
    problems: [],
    seconds: 0,
  };
  const checkpointKey = `${options.topicsDir.replace(/\/+$/, '')}/_replay/${options.sourceTopic}/${options.checkpointId}.json`;
  const progress = new ReplayProgress(store, checkpointKey, `${options.sourceTopic}/${options.checkpointId}`, options.targetLog);
  if (options.resume) await progress.resume();
  // Before anything is produced, so a run killed before its first chunk is resumed from here.
  await progress.save();
  const archive = await listArchive(store, options.topicsDir, options.sourceTopic);
  const partitions = [...archive.keys()].filter((p) => !options.partitions || options.partitions.includes(p)).sort((a, b) => a - b);
  const total = partitions.reduce((sum, p) => sum + (archive.get(p)?.length ?? 0), 0);
  let lastReport = Date.now();
  const report = (force = false) => {
    if (!force && Date.now() - lastReport < (options.progressEveryMs ?? 2000)) return;
    lastReport = Date.now();
    const seconds = (Date.now() - started) / 1000;
    logger.log(
      `objects ${summary.objects + summary.objectsSkipped}/${total}, records ${summary.recordsProduced} produced (${Math.round(summary.recordsProduced / Math.max(seconds, 0.001))}/s), ${summary.problems.length} problems`,
    );
  };

  for (const partition of partitions) {
    const objects = archive.get(partition) ?? [];
    const legacyDone = progress.legacyDone.get(partition);
    for (const [index, object] of objects.entries()) {
      const position = progress.positions.get(partition);
      const next = objects[index + 1];
      const doneBefore = legacyDone !== undefined && object.generation === 0 && object.firstOffset <= legacyDone;
      // An object ends before the next one of its generation starts: no need to read it to know it was handled.
      const endsBeforePosition =
        position !== undefined &&
        (object.generation < position.generation ||
          (object.generation === position.generation &&
            next?.generation === object.generation &&
            next.firstOffset - 1n <= position.offset));
      if (doneBefore || endsBeforePosition) {
        summary.objectsSkipped++;
        continue;
      }
      await replayObject(store, producer, object, options, summary, progress);
      report();
    }
  }
  summary.seconds = (Date.now() - started) / 1000;
  report(true);
  return summary;
}

async function replayObject(
  store: ArchiveStore,
  producer: Producer,
  object: ArchiveObject,
  options: ReplayOptions,
  summary: ReplaySummary,
  progress: ReplayProgress,
): Promise<void> {
  const { records, problems } = await readArchiveObject(store, object);
  summary.objects++;
  summary.problems.push(...problems);
  summary.recordsRead += records.length;
  const chunkRecords = options.chunkRecords ?? 2000;
  let outgoing: OutgoingRecord<TransformedWebLog>[] = [];
  let handled = 0;
  let last: bigint | undefined;
  const flush = async () => {
    if (last === undefined) return;
    await sendRecords(producer, options.target, outgoing);
    summary.recordsProduced += outgoing.length;
    progress.positions.set(object.partition, { generation: object.generation, offset: last });
    await progress.save();
    outgoing = [];
    handled = 0;
    last = undefined;
  };
  for (const record of records) {
    if (!isAfter(progress.positions.get(object.partition), object.generation, record.offset)) {
      summary.recordsAlreadyHandled++;
      continue;
    }
    if (progress.produced.has(coordinate(object.generation, object.partition, record.offset))) summary.recordsAlreadyHandled++;
    else if (!options.keep(record.value)) summary.recordsFilteredOut++;
    else
      outgoing.push({
        key: record.key,
        value: record.value,
        headers: {
          ...record.headers,
          [REPLAY_HEADER_SOURCE]: object.key,
          [REPLAY_HEADER_RUN]: progress.run,
          [REPLAY_HEADER_GENERATION]: String(object.generation),
          [REPLAY_HEADER_PARTITION]: String(object.partition),
          [REPLAY_HEADER_OFFSET]: record.offset.toString(),
        },
        ...(record.partition < options.targetPartitions ? { partition: record.partition } : {}),
      });
    last = record.offset;
    if (++handled >= chunkRecords) await flush();
  }
  await flush();
}
