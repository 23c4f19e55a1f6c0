/**
 * Object keys are a pure function of (topic, partition, first offset) — plus the hour of the
 * first record in the time layout — so an upload repeated after a crash or by a second instance
 * lands on the same key, where a conditional put tells who was first.
 *
 *   offset layout: <dir>/<topic>/partition=<p>/<topic>+<p>+<first offset, 20 digits>.jsonl[.gz]
 *   time layout:   <dir>/<topic>/dt=YYYY-MM-DD/hour=HH/partition=<p>/<same file name>
 *
 * The file name follows the Kafka Connect S3 sink's `<topic>+<partition>+<start offset>`, zero
 * padded so keys sort in offset order.
 */
export type KeyLayout = 'offset' | 'time';

export interface ObjectKeyParts {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
}

const OFFSET_DIGITS = 20;

export function objectKey(layout: KeyLayout, topicsDir: string, parts: ObjectKeyParts, firstRecordTime: Date, gzip: boolean): string {
  const file = `${parts.topic}+${parts.partition}+${parts.firstOffset.toString().padStart(OFFSET_DIGITS, '0')}.jsonl${gzip ? '.gz' : ''}`;
  const dir = topicsDir.replace(/\/+$/, '');
  const prefix = dir.length > 0 ? `${dir}/` : '';
  if (layout === 'offset') return `${prefix}${parts.topic}/partition=${parts.partition}/${file}`;
  const iso = firstRecordTime.toISOString();
  return `${prefix}${parts.topic}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/partition=${parts.partition}/${file}`;
}

/** The prefix under which every object of a topic lives, in either layout. */
export function topicPrefix(topicsDir: string, topic: string): string {
  const dir = topicsDir.replace(/\/+$/, '');
  return `${dir.length > 0 ? `${dir}/` : ''}${topic}/`;
}

const FILE_NAME = /(?:^|\/)([^/]+)\+(\d+)\+(\d{1,20})\.jsonl(\.gz)?$/;

/** Recovers topic, partition and first offset from a key; undefined for keys that are not archive objects. */
export function parseObjectKey(key: string): (ObjectKeyParts & { gzip: boolean; hour?: string }) | undefined {
  const match = FILE_NAME.exec(key);
  if (!match) return undefined;
  const time = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  return {
    topic: match[1],
    partition: Number(match[2]),
    firstOffset: BigInt(match[3]),
    gzip: match[4] !== undefined,
    ...(time ? { hour: `${time[1]}T${time[2]}` } : {}),
  };
}
