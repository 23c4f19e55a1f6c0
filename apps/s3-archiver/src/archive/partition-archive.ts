import { Logger } from '@nestjs/common';
import { backoffDelay, BatchDeclined, BatchResult, DurabilityReporter, KafkaBatch, KafkaBatchContext } from '@weblog/kafka-common';
import { ArchiveStore, KeyFormat, objectKey } from '@weblog/s3-archive';
import { ArchiverMetrics, BufferSnapshot } from './archiver.metrics';
import { FlushPolicy, FlushReason, flushReason } from './flush-policy';
import { PartitionBuffer, PlannedObject } from './partition-buffer';
import { RecordFiling } from './record-filing';
import { SerialQueue } from './serial-queue';
import { UploadSlots } from './upload-slots';

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
  /** The uploads in flight across all partitions. */
  readonly slots: UploadSlots;
  /** True while all partitions together buffer more than ARCHIVER_MAX_BUFFER_BYTES. */
  overMemory(): boolean;
  /** Every upload's outcome, for readiness. */
  uploaded(ok: boolean): void;
}

/**
 * How a partition's windows are written. `first`: one by one, until an object of this life of the
 * partition is created where no object was; up to then the partition may be following objects an
 * earlier writer left beyond the committed offset, which need not keep to windows (an older
 * release, another flush size). `parallel`: every ready window at once; from the chain's end on,
 * every writer of this configuration starts an object at each window's first record. `serial`:
 * one by one for the rest of this life, since an object that crosses a window was found.
 */
type WindowMode = 'first' | 'parallel' | 'serial';

/**
 * One partition of the output topic on its way to S3: its buffer, the one queue its batches,
 * timed flushes and shutdown run on, and the offset below which everything it was handed is in
 * S3 or in the dead-letter topic, which it reports to the transport as durable. It only ever
 * reports offsets of records it took; transaction markers and commits are the transport's.
 *
 * Objects keep to windows of `flush size` offsets (PartitionBuffer), so the objects of different
 * windows are uploaded at the same time, up to ARCHIVER_MAX_UPLOADS_IN_FLIGHT across partitions;
 * within a window each object starts where the one before it ended, as it did before windows.
 */
export class PartitionArchive {
  private readonly logger = new Logger(PartitionArchive.name);
  private readonly buffer: PartitionBuffer;
  private readonly queue = new SerialQueue();
  private mode: WindowMode = 'first';
  private report?: DurabilityReporter;
  /** Revoked or shutting down: it takes no more batches and flushes nothing more on its own. */
  private closed = false;
  private failures = 0;
  private retryAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly settings: ArchiveSettings,
  ) {
    this.buffer = new PartitionBuffer(settings.policy.flushSize);
  }

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
      await this.flushReady();
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (this.buffer.seen(offset)) continue;
        const filed = this.settings.filing.file(this.topic, this.partition, message);
        if (!filed.ok) {
          await ctx.deadLetter(message, filed.failure);
          this.buffer.skip(offset);
          continue;
        }
        this.buffer.append({ offset, line: filed.line, timestamp: Number(message.timestamp), timePath: filed.timePath }, Date.now());
        if (this.settings.overMemory()) await this.flushAll('memory');
      }
      await this.flushReady();
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

  /** Writes every object that is ready: full, closed by a time partition, or the rest of a window that is over. */
  private flushReady(): Promise<void> {
    return this.flushWindows(undefined);
  }

  /** Writes everything buffered, the open tail included. */
  private flushAll(reason: FlushReason): Promise<void> {
    return this.flushWindows(reason);
  }

  /**
   * Writes the windows' objects: one window after another until this life of the partition has
   * created an object of its own (see WindowMode), then every window at once. Every window runs to
   * its end even when another fails, so nothing is still uploading when this settles.
   */
  private async flushWindows(tail: FlushReason | undefined): Promise<void> {
    const windows = this.buffer.windowIndexes;
    while (this.mode !== 'parallel') {
      const index = windows.shift();
      if (index === undefined) return;
      await this.flushWindow(index, tail);
    }
    const outcomes = await Promise.allSettled(windows.map((index) => this.flushWindow(index, tail)));
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  }

  /** Writes one window's objects, each after the one before it; the open tail only when `tail` says why. */
  private async flushWindow(index: bigint, tail: FlushReason | undefined): Promise<void> {
    for (;;) {
      const planned = this.buffer.nextObject(index);
      if (!planned || (planned.end === 'tail' && tail === undefined)) return;
      await this.write(planned, planned.end === 'tail' ? (tail ?? 'size') : planned.end);
    }
  }

  /** Writes one object, conditionally. Throws when S3 does. */
  private async write(planned: PlannedObject, reason: FlushReason): Promise<void> {
    const chunk = planned.records;
    const first = chunk[0];
    const last = chunk[chunk.length - 1];
    if (!first || !last) return;
    const { store, metrics, keyFormat, slots } = this.settings;
    const key = objectKey(keyFormat, { topic: this.topic, partition: this.partition, firstOffset: first.offset }, first.timePath);
    const range = {
      topic: this.topic,
      partition: this.partition,
      firstOffset: first.offset,
      lastOffset: last.offset,
      recordCount: chunk.length,
    };
    const outcome = await slots.run(async () => {
      const endTimer = metrics.uploadSeconds.startTimer();
      try {
        const put = await store.putIfAbsent(
          key,
          chunk.map((r) => r.line),
          range,
          keyFormat.gzip,
        );
        endTimer();
        return put;
      } catch (error) {
        this.settings.uploaded(false);
        metrics.uploadFailures.inc();
        throw error;
      }
    });
    this.settings.uploaded(true);
    metrics.flushed(reason);
    if (outcome.created) {
      this.buffer.dropRange(first.offset, last.offset);
      if (this.mode === 'first') this.mode = 'parallel';
      metrics.objects.inc();
      metrics.archived.inc(chunk.length);
      metrics.bytesUploaded.inc(chunk.reduce((sum, r) => sum + r.line.length, 0));
      return;
    }
    // Someone wrote this key first (an earlier life of this partition, or a stale instance): what
    // that object holds is archived; go on after it. Its boundaries may differ from ours (the
    // rotate interval is wall clock), but it starts at our first offset and runs without gaps, so
    // dropping through its last offset loses and repeats nothing; the next object then starts
    // where it ended, on the key the earlier writer used for its next object, if any.
    metrics.conflicts.inc();
    const existingLast = outcome.existing.lastOffset;
    if (existingLast > this.buffer.windowEnd(first.offset) && this.mode !== 'serial') {
      this.mode = 'serial';
      this.logger.warn(
        `${key} runs past its offset window (to ${existingLast}): a writer with another flush size or an older release wrote it, so ${this.id} writes its windows one by one from now on`,
      );
    }
    this.buffer.dropRange(first.offset, existingLast);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
