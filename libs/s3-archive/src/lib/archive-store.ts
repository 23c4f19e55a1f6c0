import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { S3Env, s3Region } from '@weblog/kafka-common';

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

export type PutOutcome = { readonly created: true } | { readonly created: false; readonly existing: ArchiveObjectRange };

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

/** The S3 client a service's environment describes; credentials come from the SDK's default chain. */
export function createS3Client(env: S3Env): S3Client {
  return new S3Client({
    region: s3Region(env),
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
    maxAttempts: 3,
  });
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

export class ArchiveStore {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly encryption: ArchiveEncryption = {},
  ) {}

  async checkBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async putIfAbsent(key: string, lines: readonly Buffer[], range: ArchiveObjectRange, compress: boolean): Promise<PutOutcome> {
    const body = Buffer.concat(lines);
    const payload = compress ? await gzipAsync(body) : body;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: payload,
          IfNoneMatch: '*',
          ContentType: 'application/x-ndjson',
          ...(compress ? { ContentEncoding: 'gzip' } : {}),
          ...(this.encryption.algorithm ? { ServerSideEncryption: this.encryption.algorithm } : {}),
          ...(this.encryption.kmsKeyId ? { SSEKMSKeyId: this.encryption.kmsKeyId } : {}),
          Metadata: {
            topic: range.topic,
            partition: String(range.partition),
            'first-offset': range.firstOffset.toString(),
            'last-offset': range.lastOffset.toString(),
            'record-count': String(range.recordCount),
          },
        }),
      );
      return { created: true };
    } catch (error) {
      // 412: the key exists. 409: a concurrent conditional write is in progress; the winner decides.
      if (status(error) !== 412 && status(error) !== 409) throw error;
      const existing = await this.waitForRange(key);
      return { created: false, existing };
    }
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
