import { Logger } from '@nestjs/common';
import { backoffDelay, BatchDeclined, BatchResult, DurabilityReporter, KafkaBatch, KafkaBatchContext } from '@weblog/kafka-common';
import { ArchiveStore, KeyFormat, objectKey } from '@weblog/s3-archive';
import { ArchiverMetrics, BufferSnapshot } from './archiver.metrics';
import { FlushPolicy, FlushReason, flushReason } from './flush-policy';
import { PartitionBuffer, PlannedObject } from './partition-buffer';
import { RecordFiling } from './record-filing';
import { SerialQueue } from './serial-queue';
import { UploadSlots } from './upload-slots';
import { WriteEnds } from './write-ends';

/**
 * Backoff of failed uploads. The cap bounds how long after an S3 outage the archiver notices that
 * S3 is back: one request per partition every 10 s is nothing to a recovering server (a 30 s cap
 * made the recovery after a 60 s outage take 30 s).
 */
export const UPLOAD_RETRY = { initialMs: 500, maxMs: 10000 } as const;

/** The least time between two reports of a partition's durable offset made by uploads that complete between batches. */
const REPORT_EVERY_MS = 100;

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
 * A batch starts the uploads of its windows and returns, so the next batch is fetched while they
 * run; each upload that completes reports what is durable then. A batch waits while the partition
 * holds more windows than twice the uploads that can run, and, over ARCHIVER_MAX_BUFFER_BYTES
 * across partitions, for uploads under way before it writes anything early.
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
  /** The windows being written, each by one task that settles without rejecting. */
  private readonly writing = new Map<bigint, Promise<void>>();
  /** What a batch over its limit, or over memory, waits for: the next of those tasks to end. */
  private readonly writeEnds = new WriteEnds();
  /** The first error of a write since the last foreground write; no window starts while it is set. */
  private failure: { readonly error: unknown } | undefined;
  private reporting?: Promise<void>;
  private reportAgain = false;
  /** The first offset this archive took. */
  private began: bigint | undefined;

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

  /**
   * A batch: buffer it and start writing every ready object; what is in S3 when it returns is
   * reported durable, and the rest as its uploads complete.
   */
  take(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<BatchResult> {
    this.report = ctx.durability();
    return this.queue.run(async () => {
      if (this.closed) throw new BatchDeclined(`${this.topic}/${this.partition} is closing`);
      while (this.writing.size > 0 && this.buffer.windowCount > 2 * this.settings.slots.size) await this.writeEnds.wait();
      // Objects whose upload failed go first, in the foreground; while S3 fails this throws, and
      // the transport keeps the partition paused with backoff instead of buffering more.
      if (this.failure) await this.writeAll(undefined);
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (this.buffer.seen(offset)) continue;
        this.began ??= offset;
        const filed = this.settings.filing.file(this.topic, this.partition, message);
        if (!filed.ok) {
          await ctx.deadLetter(message, filed.failure);
          this.buffer.skip(offset);
          continue;
        }
        this.buffer.append({ offset, line: filed.line, timestamp: Number(message.timestamp), timePath: filed.timePath }, Date.now());
        if (this.settings.overMemory()) await this.relieveMemory();
      }
      this.startWindows(undefined);
      const durableBelow = this.durableBelow();
      return durableBelow === undefined ? {} : { durableBelow };
    });
  }

  /**
   * The wall-clock rules: what waits is written once it is `rotate interval` old or a schedule
   * boundary passed; uploads that failed in the background are tried again, with backoff, even
   * when no batch comes.
   */
  tick(now: number): void {
    if (this.closed || now < this.retryAt) return;
    const waiting = this.buffer.waiting(this.writing);
    const reason = flushReason(this.settings.policy, waiting.size, waiting.openedAt, now);
    const timed = reason === 'time' || reason === 'schedule' ? reason : undefined;
    if (!timed && !this.failure) return;
    this.retryAt = Number.MAX_SAFE_INTEGER;
    this.queue
      .run(async () => {
        await this.writeAll(timed);
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
          this.logger.warn(
            `${timed ? 'timed flush' : 'retried upload'} of ${this.id} failed (attempt ${this.failures}): ${describe(error)}`,
          );
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
      .run(() => this.writeAll('revoke'))
      .catch((error: unknown) => this.logger.warn(`could not write revoked ${this.id}; its new owner will: ${describe(error)}`));
  }

  /** SIGTERM: write everything buffered and report it while the consumer is still in the group. */
  shutdown(): Promise<void> {
    this.closed = true;
    return this.queue
      .run(async () => {
        await this.writeAll('shutdown');
        await this.reportDurable();
      })
      .catch((error: unknown) => this.logger.error(`could not flush ${this.id} on shutdown; it will be read again: ${describe(error)}`));
  }

  private get id(): string {
    return `${this.topic}/${this.partition}`;
  }

  /**
   * The offset below which everything taken is in S3 or dead-lettered, once that is more than
   * where this archive began: a partition none of whose records reached S3 yet commits nothing.
   */
  private durableBelow(): bigint | undefined {
    const offset = this.buffer.committable();
    return offset !== undefined && this.began !== undefined && offset > this.began ? offset : undefined;
  }

  private async reportDurable(): Promise<void> {
    const offset = this.durableBelow();
    if (offset !== undefined && this.report) await this.report(offset);
  }

  /** Reports what is durable after an upload completed: one report at a time, then the latest offset. */
  private reportSoon(): void {
    if (!this.report) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = (async () => {
      do {
        this.reportAgain = false;
        await this.reportDurable();
        // Each report is a commit: a few a second are enough, and the broker is spared one per object.
        if (this.reportAgain) await new Promise((resolve) => setTimeout(resolve, REPORT_EVERY_MS).unref());
      } while (this.reportAgain && this.report);
    })()
      .catch((error: unknown) => this.logger.warn(`could not report ${this.id} durable; the next batch will: ${describe(error)}`))
      .finally(() => (this.reporting = undefined));
  }

  /**
   * Writes what is ready (with `tail`, everything buffered) and waits until nothing is being
   * written; throws the first error of a write, so a failing S3 fails the batch, timed flush or
   * drain that asked.
   */
  private async writeAll(tail: FlushReason | undefined): Promise<void> {
    await Promise.all(this.writing.values());
    this.retryFailed();
    for (;;) {
      this.startWindows(tail);
      if (this.writing.size === 0) break;
      await Promise.all(this.writing.values());
    }
    const failed = this.failure;
    if (failed) throw failed.error;
  }

  /**
   * Over ARCHIVER_MAX_BUFFER_BYTES: uploads under way free memory as they complete, so wait for
   * them first; only what is still too much is written at once, open tails included.
   */
  private async relieveMemory(): Promise<void> {
    while (this.writing.size > 0 && this.settings.overMemory()) await this.writeEnds.wait();
    if (this.settings.overMemory()) await this.writeAll('memory');
  }

  /** Forgets the failure of a background write, whose objects the next foreground write tries again. */
  private retryFailed(): void {
    this.failure = undefined;
  }

  /**
   * Starts a write of every window with a ready object that is not being written (with `tail`,
   * every window): all of them at once, or, until this life of the partition created an object of
   * its own (see WindowMode), one window at a time, the next started when the one before it ends.
   */
  private startWindows(tail: FlushReason | undefined): void {
    for (const index of this.buffer.windowIndexes) {
      if (this.failure || (this.mode !== 'parallel' && this.writing.size > 0)) return;
      if (this.writing.has(index)) continue;
      const planned = this.buffer.nextObject(index);
      if (!planned || (planned.end === 'tail' && tail === undefined)) continue;
      const modeAtStart = this.mode;
      const write = this.flushWindow(index, tail).then(
        () => {
          this.writing.delete(index);
          this.writeEnds.ended();
          this.reportSoon();
          // Side by side, each batch starts its own windows; only a write that ends one at a time
          // (or the one that made the windows go side by side, or a final flush) starts the next.
          if (this.mode !== 'parallel' || modeAtStart !== 'parallel' || tail !== undefined) this.startWindows(tail);
        },
        (error: unknown) => {
          this.writing.delete(index);
          this.writeEnds.ended();
          this.failure ??= { error };
        },
      );
      this.writing.set(index, write);
    }
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
      // While it waited for a slot, an object that crosses windows may have covered these records.
      if (!this.buffer.holds(first.offset)) return undefined;
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
    if (!outcome) return;
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
