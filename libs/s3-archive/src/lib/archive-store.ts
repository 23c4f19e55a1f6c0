import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { positiveInt, S3Env, s3Region } from '@weblog/kafka-common';
import { generationKey, parseObjectKey } from './object-key';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** What an archive object says about itself in its S3 metadata. */
export interface ArchiveObjectRange {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly recordCount: number;
}

/**
 * `key` is where the records are (or already were): the key asked for, or its generation-N form
 * when that key holds another incarnation of the partition (see putIfAbsent).
 */
export type PutOutcome =
  | { readonly created: true; readonly key: string; readonly generation: number }
  | { readonly created: false; readonly key: string; readonly generation: number; readonly existing: ArchiveObjectRange };

/** A key that held other records than the ones to write: the topic was deleted and created again. */
export interface IncarnationMismatch {
  /** The key that holds the other records. */
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  /** The generation the records are written under instead. */
  readonly generation: number;
}

export interface ArchiveStoreOptions {
  /** Called once per mismatch found, before the records are written under the next generation. */
  readonly onIncarnationMismatch?: (mismatch: IncarnationMismatch) => void;
}

/** Bounds on every S3 request, so a hung server fails a write instead of holding it forever. */
export const s3ClientEnvShape = {
  /** Time to establish the TCP (and TLS) connection. */
  S3_CONNECTION_TIMEOUT_MS: positiveInt(3000, 600000),
  /** Time one request, with its response, may take from start to end. */
  S3_REQUEST_TIMEOUT_MS: positiveInt(30000, 3600000),
  /** Attempts per operation, the first included, with the SDK's backoff between them. */
  S3_MAX_ATTEMPTS: positiveInt(3, 20),
} as const;

export interface S3ClientLimits {
  readonly S3_CONNECTION_TIMEOUT_MS: number;
  readonly S3_REQUEST_TIMEOUT_MS: number;
  readonly S3_MAX_ATTEMPTS: number;
}

const DEFAULT_LIMITS: S3ClientLimits = { S3_CONNECTION_TIMEOUT_MS: 3000, S3_REQUEST_TIMEOUT_MS: 30000, S3_MAX_ATTEMPTS: 3 };

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

/**
 * The S3 client a service's environment describes; credentials come from the SDK's default chain.
 * Waits are bounded (s3ClientEnvShape; defaults where the environment has no limits): an operation
 * gives up after S3_MAX_ATTEMPTS x (connection + request timeout) plus backoff.
 */
export function createS3Client(env: S3Env & Partial<S3ClientLimits>): S3Client {
  const limits = { ...DEFAULT_LIMITS, ...definedLimits(env) };
  return new S3Client({
    region: s3Region(env),
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    maxAttempts: limits.S3_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: limits.S3_CONNECTION_TIMEOUT_MS,
      requestTimeout: limits.S3_REQUEST_TIMEOUT_MS,
      // Without it the SDK only warns when the request timeout passes, and keeps waiting.
      throwOnRequestTimeout: true,
      socketTimeout: limits.S3_REQUEST_TIMEOUT_MS,
    },
  });
}

function definedLimits(env: Partial<S3ClientLimits>): Partial<S3ClientLimits> {
  const limits: { -readonly [K in keyof S3ClientLimits]?: number } = {};
  for (const name of Object.keys(DEFAULT_LIMITS) as (keyof S3ClientLimits)[]) {
    const value = env[name];
    if (value !== undefined) limits[name] = value;
  }
  return limits;
}

function status(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

/**
 * The archive bucket. Objects are written with `If-None-Match: *`, so of two writers of one key
 * exactly one wins; the loser learns from the winner's metadata which offsets it already holds.
 */
/** Server-side encryption of archive objects, as the S3 sink's `s3.ssea.name` and `s3.sse.kms.key.id`. */
export interface ArchiveEncryption {
  readonly algorithm?: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
}

/** A record's identity in a line: its offset when the line carries one, and its event id. */
interface LineIdentity {
  readonly offset?: string;
  readonly id: string;
}

function identities(body: Buffer): LineIdentity[] {
  const result: LineIdentity[] = [];
  for (const text of body.toString('utf8').split('\n')) {
    if (text.trim().length === 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      result.push({ id: `not JSON: ${text}` });
      continue;
    }
    const line = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const envelope = typeof line['offset'] === 'string' && typeof line['value'] === 'object' && line['value'] !== null;
    const value = envelope ? (line['value'] as Record<string, unknown>) : line;
    const id = typeof value['event_id'] === 'string' ? value['event_id'] : JSON.stringify(value);
    result.push(envelope ? { offset: line['offset'] as string, id } : { id });
  }
  return result;
}

/**
 * Whether two objects starting at one offset hold the same records: by event id at each offset
 * both hold, or, when either side's lines carry no offsets, by event ids in order. Objects of one
 * incarnation may end at different offsets (rotation is wall clock), so only the overlap counts.
 */
export function sameRecords(wanted: Buffer, existing: Buffer): boolean {
  const ours = identities(wanted);
  const theirs = identities(existing);
  if (ours.length === 0 || theirs.length === 0) return false;
  if (ours.every((l) => l.offset !== undefined) && theirs.every((l) => l.offset !== undefined)) {
    const byOffset = new Map(theirs.map((l) => [l.offset, l.id]));
    const overlap = ours.filter((l) => byOffset.has(l.offset));
    return overlap.length > 0 && overlap.every((l) => byOffset.get(l.offset) === l.id);
  }
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++) if (ours[i]?.id !== theirs[i]?.id) return false;
  return true;
}

/** The directory of a key that holds its topic's objects: `<dir>/<topic>/`. */
function topicPrefixOf(key: string, topic: string): string {
  if (key.startsWith(`${topic}/`)) return `${topic}/`;
  const at = key.indexOf(`/${topic}/`);
  return at < 0 ? '' : key.slice(0, at + topic.length + 2);
}

const GENERATION_MARKER = /\/g(\d{9})$/;

/** Thrown by putIfAbsent when the store was found to ignore If-None-Match and that is not allowed. */
export class UnconditionalStoreError extends Error {
  constructor(readonly variable: string) {
    super(`the S3 store ignores If-None-Match, so a write could overwrite an archived object: refusing to write (${variable})`);
    this.name = 'UnconditionalStoreError';
  }
}

export class ArchiveStore {
  /** Newest generation per `<dir>/<topic>/` + partition, learned on first use. */
  private readonly generations = new Map<string, number>();
  private conditionalCheck?: { readonly prefix: string; readonly allowVariable?: string; result?: Promise<boolean> };

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly encryption: ArchiveEncryption = {},
    private readonly options: ArchiveStoreOptions = {},
  ) {}

  async checkBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /**
   * Writes the object unless its key exists. A key that exists is checked against the records to
   * write (by event id, not position): the same records mean they are already archived (a retry,
   * a second writer); other records mean the key belongs to an earlier incarnation of a topic that
   * was deleted and created again, and the records go under the next generation instead
   * (`...+g<n>`, see objectKey). Once a partition has a generation N, later writes go straight to
   * generation N: a marker object `<dir>/<topic>/_generations/partition=<p>/g<N>`, written before
   * the first object of generation N, tells a restarted writer with one LIST.
   */
  async putIfAbsent(key: string, lines: readonly Buffer[], range: ArchiveObjectRange, compress: boolean): Promise<PutOutcome> {
    await this.requireConditional();
    const body = Buffer.concat(lines);
    const payload = compress ? await gzipAsync(body) : body;
    const parts = parseObjectKey(key);
    // Not an archive object key (no generation to move to): a conflict is a conflict.
    if (!parts || parts.generation !== 0) {
      if (await this.putConditional(key, payload, range, compress)) return { created: true, key, generation: parts?.generation ?? 0 };
      return { created: false, key, generation: parts?.generation ?? 0, existing: await this.waitForRange(key) };
    }
    const markers = `${topicPrefixOf(key, range.topic)}_generations/partition=${range.partition}/`;
    let generation = await this.newestGeneration(markers);
    for (;;) {
      const target = generationKey(key, generation);
      if (await this.putConditional(target, payload, range, compress)) return { created: true, key: target, generation };
      const existing = await this.waitForRange(target);
      if (await this.holdsSame(target, body)) return { created: false, key: target, generation, existing };
      generation++;
      this.options.onIncarnationMismatch?.({
        key: target,
        topic: range.topic,
        partition: range.partition,
        firstOffset: range.firstOffset,
        generation,
      });
      // The marker names the key whose other records started this generation, for whoever looks.
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: `${markers}g${String(generation).padStart(9, '0')}`,
          Body: `${target}\n`,
          ContentType: 'text/plain',
          ...this.sse(),
        }),
      );
      if (generation > (this.generations.get(markers) ?? 0)) this.generations.set(markers, generation);
    }
  }

  /** True when written; false when the key exists (412), or a concurrent conditional write holds it (409). */
  private async putConditional(key: string, payload: Buffer, range: ArchiveObjectRange, compress: boolean): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: payload,
          IfNoneMatch: '*',
          ContentType: 'application/x-ndjson',
          ...(compress ? { ContentEncoding: 'gzip' } : {}),
          ...this.sse(),
          Metadata: {
            topic: range.topic,
            partition: String(range.partition),
            'first-offset': range.firstOffset.toString(),
            'last-offset': range.lastOffset.toString(),
            'record-count': String(range.recordCount),
          },
        }),
      );
      return true;
    } catch (error) {
      // 412: the key exists. 409: a concurrent conditional write is in progress; the winner decides.
      if (status(error) !== 412 && status(error) !== 409) throw error;
      return false;
    }
  }

  private sse(): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
    return {
      ...(this.encryption.algorithm ? { ServerSideEncryption: this.encryption.algorithm } : {}),
      ...(this.encryption.kmsKeyId ? { SSEKMSKeyId: this.encryption.kmsKeyId } : {}),
    };
  }

  private async newestGeneration(markers: string): Promise<number> {
    const known = this.generations.get(markers);
    if (known !== undefined) return known;
    let newest = 0;
    for await (const marker of this.list(markers)) newest = Math.max(newest, Number(GENERATION_MARKER.exec(marker.key)?.[1] ?? 0));
    // A concurrent mismatch may have moved it on while the listing ran.
    newest = Math.max(newest, this.generations.get(markers) ?? 0);
    this.generations.set(markers, newest);
    return newest;
  }

  /** Whether the object at `key` holds the records of `body`; a body that cannot be decoded holds none of them. */
  private async holdsSame(key: string, body: Buffer): Promise<boolean> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
    let existing: Buffer;
    try {
      existing = object.ContentEncoding === 'gzip' || key.endsWith('.gz') ? await gunzipAsync(bytes) : bytes;
    } catch {
      return false;
    }
    return sameRecords(body, existing);
  }

  /**
   * Writes a probe object under `prefix` twice with `If-None-Match: *`, then deletes it: true when
   * the second write was refused (412, or 409 for a write in progress), false when it overwrote.
   */
  async probeConditionalWrites(prefix: string): Promise<boolean> {
    const key = `${prefix}_probe/conditional-write-${randomUUID()}`;
    const put = () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: 'probe', IfNoneMatch: '*', ContentType: 'text/plain', ...this.sse() }),
      );
    try {
      await put();
      try {
        await put();
        return false;
      } catch (error) {
        if (status(error) === 412 || status(error) === 409) return true;
        throw error;
      }
    } finally {
      // Best effort: the archiver's least-privilege identity (Compose, the k8s bucket policy) may
      // not delete, and the probe's answer stands either way; a leftover probe object names no
      // archive object, so readers pass it by.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
    }
  }

  /**
   * From now on every putIfAbsent first knows (by one probe under `prefix`, repeated until S3
   * answers it) that the store honours If-None-Match, and refuses to write when it does not,
   * unless `allowUnconditional`. Resolves with the probe's answer; rejects when S3 did not answer.
   */
  requireConditionalWrites(prefix: string, allowUnconditional: boolean, variable: string): Promise<boolean> {
    this.conditionalCheck = { prefix, ...(allowUnconditional ? {} : { allowVariable: variable }) };
    return this.conditionalHonoured();
  }

  private conditionalHonoured(): Promise<boolean> {
    const check = this.conditionalCheck;
    if (!check) return Promise.resolve(true);
    check.result ??= this.probeConditionalWrites(check.prefix).catch((error: unknown) => {
      check.result = undefined;
      throw error;
    });
    return check.result;
  }

  private async requireConditional(): Promise<void> {
    const variable = this.conditionalCheck?.allowVariable;
    if (variable !== undefined && !(await this.conditionalHonoured())) throw new UnconditionalStoreError(variable);
  }

  /** The range an existing object holds, from its metadata (retried briefly while a concurrent write settles). */
  private async waitForRange(key: string): Promise<ArchiveObjectRange> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.range(key);
      } catch (error) {
        if (status(error) !== 404 || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  async range(key: string): Promise<ArchiveObjectRange> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    const meta = head.Metadata ?? {};
    const first = meta['first-offset'];
    const last = meta['last-offset'];
    if (first === undefined || last === undefined) throw new Error(`object ${key} has no offset range in its metadata`);
    return {
      topic: meta['topic'] ?? '',
      partition: Number(meta['partition'] ?? -1),
      firstOffset: BigInt(first),
      lastOffset: BigInt(last),
      recordCount: Number(meta['record-count'] ?? 0),
    };
  }

  async *list(prefix: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key) yield { key: object.Key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The object's bytes, un-gzipped when it is compressed. */
  async read(key: string): Promise<Buffer> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
    return object.ContentEncoding === 'gzip' || key.endsWith('.gz') ? gunzipAsync(bytes) : bytes;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }),
    );
  }

  async readJson(key: string): Promise<unknown> {
    try {
      return JSON.parse((await this.read(key)).toString('utf8')) as unknown;
    } catch (error) {
      if (status(error) === 404) return undefined;
      throw error;
    }
  }
}
