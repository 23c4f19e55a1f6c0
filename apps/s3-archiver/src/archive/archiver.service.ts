import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import {
  backoffDelay,
  BatchOutcome,
  BatchOutcomes,
  decode,
  KafkaBatch,
  KafkaBatchContext,
  PartitionCommitter,
  ReadinessRegistry,
  TransformedWebLog,
  TransformedWebLogContract,
  TransportObserver,
} from '@weblog/kafka-common';
import { archiveLine, ArchiveStore, KeyFormat, localTimeMs, objectKey, TimePartitioner } from '@weblog/s3-archive';
import { ArchiverEnv } from '../archiver.env';
import { ARCHIVE_STORE, ARCHIVER_ENV } from '../archiver.tokens';
import { ArchiverMetrics } from './archiver.metrics';
import { FlushPolicy, FlushReason, flushReason } from './flush-policy';
import { PartitionBuffer } from './partition-buffer';
import { SerialQueue } from './serial-queue';

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly buffer: PartitionBuffer;
  readonly queue: SerialQueue;
  committer?: PartitionCommitter;
  committed?: bigint;
  failures: number;
  retryAt: number;
}

const TICK_MS = 200;

/**
 * Buffers each partition of the output topic and writes it to S3 as one object per `flush size`
 * records or per `rotate interval`. An offset is committed only once every record below it is in
 * S3 (or in the dead-letter topic). Keys are deterministic and writes conditional, so a record
 * lands in S3 exactly once whatever crashes or rebalances happen in between.
 */
/**
 * Backoff of failed uploads. The cap bounds how long after an S3 outage the archiver notices that
 * S3 is back: one request per partition every 10 s is nothing to a recovering server (a 30 s cap
 * made the recovery after a 60 s outage take 30 s).
 */
export const UPLOAD_RETRY = { initialMs: 500, maxMs: 10000 } as const;

@Injectable()
export class ArchiverService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy, TransportObserver {
  private readonly logger = new Logger(ArchiverService.name);
  private readonly partitions = new Map<string, PartitionState>();
  private timer?: NodeJS.Timeout;
  private s3Failing = false;
  private draining = false;
  private readonly keyFormat: KeyFormat;
  private readonly partitioner?: TimePartitioner;
  private readonly policy: FlushPolicy;

  constructor(
    @Inject(ARCHIVER_ENV) private readonly env: ArchiverEnv,
    @Inject(ARCHIVE_STORE) private readonly store: ArchiveStore,
    private readonly metrics: ArchiverMetrics,
    readiness: ReadinessRegistry,
  ) {
    this.keyFormat = {
      layout: env.ARCHIVER_KEY_LAYOUT,
      topicsDir: env.ARCHIVER_TOPICS_DIR,
      naming: env.ARCHIVER_FILE_NAMING,
      zeroPadWidth: env.ARCHIVER_OFFSET_ZERO_PAD_WIDTH,
      gzip: env.ARCHIVER_GZIP,
    };
    if (env.ARCHIVER_KEY_LAYOUT === 'time')
      this.partitioner = new TimePartitioner({
        pathFormat: env.ARCHIVER_PATH_FORMAT,
        durationMs: env.ARCHIVER_PARTITION_DURATION_MS,
        timeZone: env.ARCHIVER_TIMEZONE,
        locale: env.ARCHIVER_LOCALE,
      });
    this.policy = {
      flushSize: env.ARCHIVER_FLUSH_SIZE,
      rotateIntervalMs: env.ARCHIVER_ROTATE_INTERVAL_MS,
      rotateScheduleIntervalMs: env.ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS,
      localTime: (t) => localTimeMs(t, env.ARCHIVER_TIMEZONE),
    };
    metrics.watchBuffers(() =>
      [...this.partitions.values()].map((s) => ({
        partition: s.partition,
        records: s.buffer.size,
        bytes: s.buffer.bytes,
        oldestRecordTime: s.buffer.oldestRecordTime,
      })),
    );
    readiness.register('s3', async () => {
      await this.store.checkBucket();
      if (this.s3Failing) throw new Error('uploads are failing');
    });
  }

  onApplicationBootstrap(): void {
    if (this.partitioner && this.env.ARCHIVER_TIMESTAMP_EXTRACTOR === 'Wallclock')
      this.logger.warn(
        'ARCHIVER_TIMESTAMP_EXTRACTOR=Wallclock: a record read again after a crash may be filed under another time partition, so it can land in S3 twice',
      );
    this.timer = setInterval(() => this.flushDueBuffers(), TICK_MS);
  }

  /** A batch of one partition: buffer it, write every full object, commit what is now in S3. */
  handle(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<BatchOutcome> {
    const state = this.state(batch.topic, batch.partition);
    state.committer = ctx.committer();
    return state.queue.run(async () => {
      // Shutting down: leave the batch uncommitted; it is read again after the restart.
      if (this.draining) return BatchOutcomes.committedByHandler;
      // Full objects left by a failed attempt go first; while S3 fails this throws, and the
      // transport keeps the partition paused with backoff instead of buffering more.
      await this.flushFull(state);
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (state.buffer.seen(offset)) continue;
        const decoded = decode(TransformedWebLogContract, message.value, { maxBytes: this.env.ARCHIVER_MAX_VALUE_BYTES });
        if (!decoded.ok) {
          await ctx.deadLetter(message, { reason: decoded.reason, detail: decoded.detail });
          state.buffer.skip(offset);
          continue;
        }
        const line = archiveLine(batch.topic, batch.partition, message, decoded.value, this.env.ARCHIVER_RECORD_METADATA);
        const timePath = this.partitioner?.path(this.recordTime(decoded.value, Number(message.timestamp))) ?? '';
        // As Connect's TimeBasedPartitioner: a record of another time partition closes the object,
        // so no object holds two partitions' records. Its key stays a function of its first record.
        if (state.buffer.size > 0 && state.buffer.timePath !== timePath) await this.flushAll(state, 'partition');
        state.buffer.append({ offset, line, timestamp: Number(message.timestamp), timePath }, Date.now());
        await this.flushFull(state);
        if (this.bufferedBytes() > this.env.ARCHIVER_MAX_BUFFER_BYTES) await this.flushAll(state, 'memory');
      }
      // Transaction markers after the last record take offsets too; they need no archiving.
      state.buffer.skip(BigInt(batch.lastOffset));
      await this.commit(state);
      return BatchOutcomes.committedByHandler;
    });
  }

  /** Writes the oldest `flush size` records (at most) of a partition as one object. Throws when S3 does. */
  private async flush(state: PartitionState, reason: FlushReason): Promise<void> {
    const chunk = state.buffer.peek(this.env.ARCHIVER_FLUSH_SIZE);
    const first = chunk[0];
    const last = chunk[chunk.length - 1];
    if (!first || !last) return;
    const key = objectKey(this.keyFormat, { topic: state.topic, partition: state.partition, firstOffset: first.offset }, first.timePath);
    const range = {
      topic: state.topic,
      partition: state.partition,
      firstOffset: first.offset,
      lastOffset: last.offset,
      recordCount: chunk.length,
    };
    const endTimer = this.metrics.uploadSeconds.startTimer();
    let outcome;
    try {
      outcome = await this.store.putIfAbsent(
        key,
        chunk.map((r) => r.line),
        range,
        this.env.ARCHIVER_GZIP,
      );
    } catch (error) {
      this.s3Failing = true;
      this.metrics.uploadFailures.inc();
      throw error;
    }
    endTimer();
    this.s3Failing = false;
    this.metrics.flushed(reason);
    if (outcome.created) {
      state.buffer.dropThrough(last.offset);
      this.metrics.objects.inc();
      this.metrics.archived.inc(chunk.length);
      this.metrics.bytesUploaded.inc(chunk.reduce((sum, r) => sum + r.line.length, 0));
    } else {
      // Someone wrote this key first (an earlier life of this partition, or a stale instance):
      // what that object holds is archived; go on after it. Its boundaries may differ from ours
      // (the rotate interval is wall clock), but it starts at our first offset and runs without
      // gaps, so dropping through its last offset loses and repeats nothing; the next object then
      // starts where it ended, on the key the earlier writer used for its next object, if any.
      this.metrics.conflicts.inc();
      state.buffer.dropThrough(outcome.existing.lastOffset);
    }
  }

  private async flushFull(state: PartitionState): Promise<void> {
    while (state.buffer.size >= this.env.ARCHIVER_FLUSH_SIZE) await this.flush(state, 'size');
  }

  private async flushAll(state: PartitionState, reason: FlushReason): Promise<void> {
    while (state.buffer.size > 0) await this.flush(state, reason);
  }

  private async commit(state: PartitionState): Promise<void> {
    const offset = state.buffer.committable();
    if (offset === undefined || !state.committer || (state.committed !== undefined && offset <= state.committed)) return;
    if (await state.committer(offset.toString())) {
      state.committed = offset;
      this.metrics.commits.inc();
    }
  }

  /** The wall-clock rule: an idle partition's buffer is written once it is `rotate interval` old. */
  private flushDueBuffers(): void {
    const now = Date.now();
    for (const state of this.partitions.values()) {
      const reason = flushReason(this.policy, state.buffer.size, state.buffer.openedAt, now);
      if (this.draining || now < state.retryAt || (reason !== 'time' && reason !== 'schedule')) continue;
      state.retryAt = Number.MAX_SAFE_INTEGER;
      state.queue
        .run(async () => {
          await this.flushAll(state, reason);
          await this.commit(state);
        })
        .then(
          () => {
            state.failures = 0;
            state.retryAt = 0;
          },
          (error: unknown) => {
            state.failures++;
            state.retryAt = Date.now() + backoffDelay(state.failures, UPLOAD_RETRY.initialMs, UPLOAD_RETRY.maxMs);
            this.logger.warn(
              `timed flush of ${state.topic}/${state.partition} failed (attempt ${state.failures}): ${error instanceof Error ? error.message : String(error)}`,
            );
          },
        );
    }
  }

  /**
   * After a rebalance, partitions this instance lost are written out (the upload is safe, the key
   * is conditional) but never committed: the commit belongs to the new owner.
   */
  assignmentChanged(assigned: ReadonlyMap<string, readonly number[]>): void {
    for (const [id, state] of this.partitions) {
      if (assigned.get(state.topic)?.includes(state.partition)) continue;
      this.partitions.delete(id);
      state.committer = undefined;
      state.queue
        .run(() => this.flushAll(state, 'revoke'))
        .catch((error: unknown) =>
          this.logger.warn(`could not write revoked ${id}; its new owner will: ${error instanceof Error ? error.message : String(error)}`),
        );
    }
  }

  /** Offsets that held only transaction markers are handled: commit past them once the buffer allows. */
  markersPassed(topic: string, partition: number, nextOffset: string): void {
    const state = this.partitions.get(`${topic}/${partition}`);
    if (!state) return;
    state.queue
      .run(async () => {
        state.buffer.skip(BigInt(nextOffset) - 1n);
        await this.commit(state);
      })
      .catch((error: unknown) =>
        this.logger.warn(
          `could not commit past transaction markers of ${topic}/${partition}: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }

  /** SIGTERM: take no new batches; write every buffer and commit while the consumer is still in the group. */
  async drain(): Promise<void> {
    this.draining = true;
    clearInterval(this.timer);
    await Promise.all(
      [...this.partitions.values()].map((state) =>
        state.queue
          .run(async () => {
            await this.flushAll(state, 'shutdown');
            await this.commit(state);
          })
          .catch((error: unknown) =>
            this.logger.error(
              `could not flush ${state.topic}/${state.partition} on shutdown; it will be read again: ${error instanceof Error ? error.message : String(error)}`,
            ),
          ),
      ),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The time a record is partitioned by, per ARCHIVER_TIMESTAMP_EXTRACTOR. */
  private recordTime(value: TransformedWebLog, kafkaTimestamp: number): number {
    switch (this.env.ARCHIVER_TIMESTAMP_EXTRACTOR) {
      case 'Record':
        return kafkaTimestamp;
      case 'Wallclock':
        return Date.now();
      default:
        // Both field names read the instant in UTC; the digits below milliseconds cannot move an hour.
        return Date.parse(`${value.timestamp_utc.slice(0, 23)}Z`);
    }
  }

  private bufferedBytes(): number {
    let total = 0;
    for (const state of this.partitions.values()) total += state.buffer.bytes;
    return total;
  }

  private state(topic: string, partition: number): PartitionState {
    const id = `${topic}/${partition}`;
    let state = this.partitions.get(id);
    if (!state) {
      state = { topic, partition, buffer: new PartitionBuffer(), queue: new SerialQueue(), failures: 0, retryAt: 0 };
      this.partitions.set(id, state);
    }
    return state;
  }
}
