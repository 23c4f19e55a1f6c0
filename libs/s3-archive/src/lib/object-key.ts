/**
 * Object keys are a pure function of (topic, partition, first offset) — plus the time partition of
 * the object's records in the time layout, itself a function of the first record — so an upload
 * repeated after a crash or by a second instance lands on the same key, where a conditional put
 * tells who was first.
 *
 * Two namings of the file, both `<topic>+<partition>+<start offset>` as the Kafka Connect S3 sink
 * writes it:
 *   archiver: offset zero padded to 20 digits (every offset sorts), `.jsonl[.gz]`; the time layout
 *             keeps `partition=<p>/` below the time path.
 *   connect:  Connect's own names: `filename.offset.zero.pad.width` digits (10 by default),
 *             `.json[.gz]`, and the time path straight above the file, as its TimeBasedPartitioner.
 *
 *   offset layout: <dir>/<topic>/partition=<p>/<file>
 *   time layout:   <dir>/<topic>/<time path>/partition=<p>/<file>   (archiver naming)
 *                  <dir>/<topic>/<time path>/<file>                 (connect naming)
 *
 * Generations: a topic deleted and created again restarts its offsets at 0, onto keys that hold
 * the old incarnation's objects. Its objects go under generation 1 (then 2, ...), named
 * `<topic>+<partition>+<start offset>+g<generation>` before the extension, in the same
 * directories; generation 0 is the plain name. See ArchiveStore.putIfAbsent.
 */
export type KeyLayout = 'offset' | 'time';
export type FileNaming = 'archiver' | 'connect';

export interface ObjectKeyParts {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  /** The incarnation of the partition the object belongs to; 0 (the default) is the plain key. */
  readonly generation?: number;
}

export interface KeyFormat {
  readonly layout: KeyLayout;
  readonly topicsDir: string;
  readonly naming: FileNaming;
  /** Digits of the start offset in the connect naming. */
  readonly zeroPadWidth: number;
  readonly gzip: boolean;
}

const ARCHIVER_OFFSET_DIGITS = 20;
export const CONNECT_DEFAULT_ZERO_PAD_WIDTH = 10;

/** `timePath` is the time partition of the object's records (see TimePartitioner); unused in the offset layout. */
export function objectKey(format: KeyFormat, parts: ObjectKeyParts, timePath: string): string {
  const connect = format.naming === 'connect';
  const digits = connect ? format.zeroPadWidth : ARCHIVER_OFFSET_DIGITS;
  const extension = `${connect ? '.json' : '.jsonl'}${format.gzip ? '.gz' : ''}`;
  const generation = parts.generation ? `+g${parts.generation}` : '';
  const file = `${parts.topic}+${parts.partition}+${parts.firstOffset.toString().padStart(digits, '0')}${generation}${extension}`;
  const prefix = topicPrefix(format.topicsDir, parts.topic);
  if (format.layout === 'offset') return `${prefix}partition=${parts.partition}/${file}`;
  return connect ? `${prefix}${timePath}/${file}` : `${prefix}${timePath}/partition=${parts.partition}/${file}`;
}

/** The prefix under which every object of a topic lives, in either layout. */
export function topicPrefix(topicsDir: string, topic: string): string {
  const dir = topicsDir.replace(/\/+$/, '');
  return `${dir.length > 0 ? `${dir}/` : ''}${topic}/`;
}

const FILE_NAME = /(?:^|\/)([^/]+)\+(\d+)\+(\d{1,20})(?:\+g([1-9]\d{0,8}))?\.jsonl?(\.gz)?$/;
const EXTENSION = /\.jsonl?(?:\.gz)?$/;

/**
 * Recovers topic, partition, first offset and generation (0 for a plain key) from a key of either
 * naming; undefined for keys that are not archive objects.
 */
export function parseObjectKey(key: string): (ObjectKeyParts & { generation: number; gzip: boolean; hour?: string }) | undefined {
  const match = FILE_NAME.exec(key);
  if (!match) return undefined;
  const time = /dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(key);
  return {
    topic: match[1] ?? '',
    partition: Number(match[2]),
    firstOffset: BigInt(match[3] ?? '0'),
    generation: match[4] === undefined ? 0 : Number(match[4]),
    gzip: match[5] !== undefined,
    ...(time ? { hour: `${time[1]}T${time[2]}` } : {}),
  };
}

/** The key of generation `generation` for the object whose generation-0 key is `key`. */
export function generationKey(key: string, generation: number): string {
  const parts = parseObjectKey(key);
  if (!parts || parts.generation !== 0) throw new Error(`${key} is not a generation-0 archive key`);
  if (generation === 0) return key;
  const extension = EXTENSION.exec(key)?.[0] ?? '';
  return `${key.slice(0, key.length - extension.length)}+g${generation}${extension}`;
}
