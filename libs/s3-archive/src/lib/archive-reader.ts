import { decode, TransformedWebLog, TransformedWebLogContract } from '@weblog/kafka-common';
import { ArchivedRecord } from './archive-line';
import { ArchiveStore } from './archive-store';
import { parseObjectKey, topicPrefix } from './object-key';

export interface ArchiveObject {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  /**
   * The incarnation of the partition (0 unless the topic was deleted and created again): offsets
   * of two generations are of two different logs and never compare.
   */
  readonly generation: number;
  readonly size: number;
}

/** Something in the archive that could not be read, named so it can be inspected. */
export interface ArchiveProblem {
  readonly key: string;
  readonly line?: number;
  readonly reason: string;
}

/** A record read back from the archive, with the coordinates it had in Kafka. */
export interface RestoredRecord {
  readonly partition: number;
  readonly offset: bigint;
  /** The generation of the object it was read from (see ArchiveObject.generation). */
  readonly generation: number;
  readonly key: string | null;
  readonly timestamp: string | undefined;
  readonly headers: Record<string, string>;
  readonly value: TransformedWebLog;
  /**
   * `kafka`: the line carried its own coordinates. `position`: a bare value (Connect's JsonFormat)
   * whose offset is the object's first offset plus its line number, exact only where the
   * partition has no gaps (dead-lettered records, transaction markers); order is still that of
   * the partition, since objects sort by first offset and lines keep their order.
   */
  readonly coordinates: 'kafka' | 'position';
}

/**
 * Every archive object of a topic, grouped by partition, each partition in log order: generation,
 * then first offset (a later generation is a later incarnation of the partition).
 */
export async function listArchive(store: ArchiveStore, topicsDir: string, topic: string): Promise<Map<number, ArchiveObject[]>> {
  const byPartition = new Map<number, ArchiveObject[]>();
  for await (const listed of store.list(topicPrefix(topicsDir, topic))) {
    const parts = parseObjectKey(listed.key);
    if (!parts || parts.topic !== topic) continue;
    const objects = byPartition.get(parts.partition) ?? [];
    objects.push({
      key: listed.key,
      topic,
      partition: parts.partition,
      firstOffset: parts.firstOffset,
      generation: parts.generation,
      size: listed.size,
    });
    byPartition.set(parts.partition, objects);
  }
  for (const objects of byPartition.values())
    objects.sort((a, b) =>
      a.generation !== b.generation
        ? a.generation - b.generation
        : a.firstOffset < b.firstOffset
          ? -1
          : a.firstOffset > b.firstOffset
            ? 1
            : 0,
    );
  return byPartition;
}

/**
 * Parses one object's lines. Lines with Kafka metadata give their own coordinates; bare values get
 * the object's partition and consecutive offsets from its first offset. A line that is not JSON or
 * not a TransformedWebLog is reported and skipped: one bad line never hides the rest.
 */
export function parseArchiveObject(object: ArchiveObject, body: Buffer): { records: RestoredRecord[]; problems: ArchiveProblem[] } {
  const records: RestoredRecord[] = [];
  const problems: ArchiveProblem[] = [];
  const lines = body.toString('utf8').split('\n');
  let position = 0n;
  lines.forEach((text, index) => {
    if (text.trim().length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problems.push({ key: object.key, line: index + 1, reason: 'not JSON' });
      return;
    }
    const envelope = isEnvelope(parsed) ? parsed : undefined;
    const decoded = decode(TransformedWebLogContract, Buffer.from(JSON.stringify(envelope ? envelope.value : parsed)));
    if (!decoded.ok) {
      problems.push({ key: object.key, line: index + 1, reason: `${decoded.reason}: ${decoded.detail}` });
      return;
    }
    records.push({
      partition: envelope?.partition ?? object.partition,
      offset: envelope ? BigInt(envelope.offset) : object.firstOffset + position,
      generation: object.generation,
      key: envelope ? envelope.key : decoded.value.ip,
      timestamp: envelope?.timestamp,
      headers: envelope?.headers ?? {},
      value: decoded.value,
      coordinates: envelope ? 'kafka' : 'position',
    });
    position++;
  });
  return { records, problems };
}

function isEnvelope(value: unknown): value is ArchivedRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['offset'] === 'string' && typeof v['partition'] === 'number' && typeof v['value'] === 'object';
}

/** Reads an object, turning a failed read or a broken body into a reported problem instead of an error. */
export async function readArchiveObject(
  store: ArchiveStore,
  object: ArchiveObject,
): Promise<{ records: RestoredRecord[]; problems: ArchiveProblem[] }> {
  let body: Buffer;
  try {
    body = await store.read(object.key);
  } catch (error) {
    return {
      records: [],
      problems: [{ key: object.key, reason: `unreadable: ${error instanceof Error ? error.message : String(error)}` }],
    };
  }
  return parseArchiveObject(object, body);
}
