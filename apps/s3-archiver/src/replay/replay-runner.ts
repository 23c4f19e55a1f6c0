import { Logger } from '@nestjs/common';
import { Producer } from 'kafkajs';
import { OutgoingRecord, sendRecords, TopicRef, TransformedWebLog } from '@weblog/kafka-common';
import { ArchiveObject, ArchiveProblem, ArchiveStore, listArchive, readArchiveObject } from '@weblog/s3-archive';
import { RecordPredicate } from './record-filter';

export interface ReplayOptions {
  /** The archived topic to read back. */
  readonly sourceTopic: string;
  readonly topicsDir: string;
  readonly target: TopicRef<TransformedWebLog>;
  readonly targetPartitions: number;
  readonly partitions?: readonly number[];
  readonly keep: RecordPredicate;
  /** Names the checkpoint; with `resume`, objects done by an earlier run of that name are skipped. */
  readonly checkpointId: string;
  readonly resume: boolean;
  readonly progressEveryMs?: number;
}

export interface ReplaySummary {
  objects: number;
  objectsSkipped: number;
  recordsRead: number;
  recordsProduced: number;
  recordsFilteredOut: number;
  problems: ArchiveProblem[];
  seconds: number;
}

/** Per original partition, the first offset of the last object fully replayed. */
type Checkpoint = Record<string, string>;

export const REPLAY_HEADER_SOURCE = 'replay-source-object';

/**
 * Reads a topic's archive back into Kafka: each original partition in offset order, each record to
 * the same partition number (by key when the target has fewer), so per-partition order survives.
 * A checkpoint in the bucket after every object lets an interrupted replay resume.
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
    problems: [],
    seconds: 0,
  };
  const checkpointKey = `${options.topicsDir.replace(/\/+$/, '')}/_replay/${options.sourceTopic}/${options.checkpointId}.json`;
  const checkpoint: Checkpoint = options.resume ? (((await store.readJson(checkpointKey)) as Checkpoint | undefined) ?? {}) : {};
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
    const done = checkpoint[String(partition)];
    for (const object of archive.get(partition) ?? []) {
      if (done !== undefined && object.firstOffset <= BigInt(done)) {
        summary.objectsSkipped++;
        continue;
      }
      await replayObject(store, producer, object, options, summary);
      checkpoint[String(partition)] = object.firstOffset.toString();
      await store.putJson(checkpointKey, checkpoint);
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
): Promise<void> {
  const { records, problems } = await readArchiveObject(store, object);
  summary.objects++;
  summary.problems.push(...problems);
  summary.recordsRead += records.length;
  const outgoing: OutgoingRecord<TransformedWebLog>[] = [];
  for (const record of records) {
    if (!options.keep(record.value)) {
      summary.recordsFilteredOut++;
      continue;
    }
    outgoing.push({
      key: record.key,
      value: record.value,
      headers: { ...record.headers, [REPLAY_HEADER_SOURCE]: object.key },
      ...(record.partition < options.targetPartitions ? { partition: record.partition } : {}),
    });
  }
  await sendRecords(producer, options.target, outgoing);
  summary.recordsProduced += outgoing.length;
}
