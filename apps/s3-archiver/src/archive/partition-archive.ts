import { Logger } from '@nestjs/common';
import { backoffDelay, BatchDeclined, BatchResult, DurabilityReporter, KafkaBatch, KafkaBatchContext } from '@weblog/kafka-common';
import { ArchiveStore, KeyFormat, objectKey } from '@weblog/s3-archive';
import { ArchiverMetrics, BufferSnapshot } from './archiver.metrics';
import { FlushPolicy, FlushReason, flushReason } from './flush-policy';
import { PartitionBuffer } from './partition-buffer';
import { RecordFiling } from './record-filing';
import { SerialQueue } from './serial-queue';

/**
 * Backoff of failed uploads. The cap bounds how long after an S3 outage the archiver notices that
 * S3 is back: one request per partition every 10 s is nothing to a recovering server (a 30 s cap
 * made the recovery after a 60 s outage take 30 s).
 */
export const UPLOAD_RETRY = { initialMs: 500, maxMs: 10000 } as const;

/** What every partition's archive shares: where and how objects are written, and the limits across partitions. */
export interface ArchiveSettings {
  readonly store: ArchiveStore;
  readonly metrics: ArchiverMetrics;
  readonly filing: RecordFiling;
  readonly keyFormat: KeyFormat;
  readonly policy: FlushPolicy;
  /** True while all partitions together buffer more than ARCHIVER_MAX_BUFFER_BYTES. */
  overMemory(): boolean;
  /** Every upload's outcome, for readiness. */
  uploaded(ok: boolean): void;
}

/**
 * One partition of the output topic on its way to S3: its buffer, the one queue its batches,
 * timed flushes and shutdown run on, and the offset below which everything it was handed is in
 * S3 or in the dead-letter topic, which it reports to the transport as durable. It only ever
 * reports offsets of records it took; transaction markers and commits are the transport's.
 */
export class PartitionArchive {
  private readonly logger = new Logger(PartitionArchive.name);
  private readonly buffer = new PartitionBuffer();
  private readonly queue = new SerialQueue();
  private report?: DurabilityReporter;
  /** Revoked or shutting down: it takes no more batches and flushes nothing more on its own. */
  private closed = false;
  private failures = 0;
  private retryAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly settings: ArchiveSettings,
  ) {}

  get bufferedBytes(): number {
    return this.buffer.bytes;
  }

  get snapshot(): BufferSnapshot {
    return {
      partition: this.partition,
      records: this.buffer.size,
      bytes: this.buffer.bytes,
      oldestRecordTime: this.buffer.oldestRecordTime,
    };
  }

  /** A batch: buffer it and write every full object; what is in S3 by the end is reported durable. */
  take(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<BatchResult> {
    this.report = ctx.durability();
    return this.queue.run(async () => {
      if (this.closed) throw new BatchDeclined(`${this.topic}/${this.partition} is closing`);
      // Full objects left by a failed attempt go first; while S3 fails this throws, and the
      // transport keeps the partition paused with backoff instead of buffering more.
      await this.flushFull();
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (this.buffer.seen(offset)) continue;
        const filed = this.settings.filing.file(this.topic, this.partition, message);
        if (!filed.ok) {
          await ctx.deadLetter(message, filed.failure);
          this.buffer.skip(offset);
          continue;
        }
        // As Connect's TimeBasedPartitioner: a record of another time partition closes the object,
        // so no object holds two partitions' records. Its key stays a function of its first record.
        if (this.buffer.size > 0 && this.buffer.timePath !== filed.timePath) await this.flushAll('partition');
        this.buffer.append({ offset, line: filed.line, timestamp: Number(message.timestamp), timePath: filed.timePath }, Date.now());
        await this.flushFull();
        if (this.settings.overMemory()) await this.flushAll('memory');
      }
      const durableBelow = this.buffer.committable();
      return durableBelow === undefined ? {} : { durableBelow };
    });
  }

  /** The wall-clock rules: a buffer is written once it is `rotate interval` old or a schedule boundary passed. */
  tick(now: number): void {
    if (this.closed || now < this.retryAt) return;
    const reason = flushReason(this.settings.policy, this.buffer.size, this.buffer.openedAt, now);
    if (reason !== 'time' && reason !== 'schedule') return;
    this.retryAt = Number.MAX_SAFE_INTEGER;
    this.queue
      .run(async () => {
        await this.flushAll(reason);
        await this.reportDurable();
      })
      .then(
        () => {
          this.failures = 0;
          this.retryAt = 0;
        },
        (error: unknown) => {
          this.failures++;
          this.retryAt = Date.now() + backoffDelay(this.failures, UPLOAD_RETRY.initialMs, UPLOAD_RETRY.maxMs);
          this.logger.warn(`timed flush of ${this.id} failed (attempt ${this.failures}): ${describe(error)}`);
        },
      );
  }

  /**
   * The partition went to another instance: what is buffered is written (the upload is safe, the
   * key is conditional) but never reported, since the commit belongs to the new owner.
   */
  revoke(): Promise<void> {
    this.closed = true;
    this.report = undefined;
    return this.queue
      .run(() => this.flushAll('revoke'))
      .catch((error: unknown) => this.logger.warn(`could not write revoked ${this.id}; its new owner will: ${describe(error)}`));
  }

  /** SIGTERM: write everything buffered and report it while the consumer is still in the group. */
  shutdown(): Promise<void> {
    this.closed = true;
    return this.queue
      .run(async () => {
        await this.flushAll('shutdown');
        await this.reportDurable();
      })
      .catch((error: unknown) => this.logger.error(`could not flush ${this.id} on shutdown; it will be read again: ${describe(error)}`));
  }

  private get id(): string {
    return `${this.topic}/${this.partition}`;
  }

  private async reportDurable(): Promise<void> {
    const offset = this.buffer.committable();
    if (offset !== undefined && this.report) await this.report(offset);
  }

  private async flushFull(): Promise<void> {
    while (this.buffer.size >= this.settings.policy.flushSize) await this.flush('size');
  }

  private async flushAll(reason: FlushReason): Promise<void> {
    while (this.buffer.size > 0) await this.flush(reason);
  }

  /** Writes the oldest `flush size` records (at most) as one object. Throws when S3 does. */
  private async flush(reason: FlushReason): Promise<void> {
    const chunk = this.buffer.peek(this.settings.policy.flushSize);
    const first = chunk[0];
    const last = chunk[chunk.length - 1];
    if (!first || !last) return;
    const { store, metrics, keyFormat } = this.settings;
    const key = objectKey(keyFormat, { topic: this.topic, partition: this.partition, firstOffset: first.offset }, first.timePath);
    const range = {
      topic: this.topic,
      partition: this.partition,
      firstOffset: first.offset,
      lastOffset: last.offset,
      recordCount: chunk.length,
    };
    const endTimer = metrics.uploadSeconds.startTimer();
    let outcome;
    try {
      outcome = await store.putIfAbsent(
        key,
        chunk.map((r) => r.line),
        range,
        keyFormat.gzip,
      );
    } catch (error) {
      this.settings.uploaded(false);
      metrics.uploadFailures.inc();
      throw error;
    }
    endTimer();
    this.settings.uploaded(true);
    metrics.flushed(reason);
    if (outcome.created) {
      this.buffer.dropThrough(last.offset);
      metrics.objects.inc();
      metrics.archived.inc(chunk.length);
      metrics.bytesUploaded.inc(chunk.reduce((sum, r) => sum + r.line.length, 0));
    } else {
      // Someone wrote this key first (an earlier life of this partition, or a stale instance):
      // what that object holds is archived; go on after it. Its boundaries may differ from ours
      // (the rotate interval is wall clock), but it starts at our first offset and runs without
      // gaps, so dropping through its last offset loses and repeats nothing; the next object then
      // starts where it ended, on the key the earlier writer used for its next object, if any.
      metrics.conflicts.inc();
      this.buffer.dropThrough(outcome.existing.lastOffset);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
