import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { BatchDeclined, BatchResult, KafkaBatch, KafkaBatchContext, ReadinessRegistry, TransportObserver } from '@weblog/kafka-common';
import { ArchiveStore, localTimeMs } from '@weblog/s3-archive';
import { ArchiverEnv } from '../archiver.env';
import { ARCHIVE_STORE, ARCHIVER_ENV } from '../archiver.tokens';
import { ArchiverMetrics } from './archiver.metrics';
import { ArchiveSettings, PartitionArchive } from './partition-archive';
import { RecordFiling } from './record-filing';
import { UploadSlots } from './upload-slots';

export { UPLOAD_RETRY } from './partition-archive';

const TICK_MS = 200;

/**
 * Writes each partition of the output topic to S3 as one object per `flush size` records or per
 * `rotate interval`, through one PartitionArchive per assigned partition. Keys are deterministic
 * and writes conditional, so a record lands in S3 exactly once whatever crashes or rebalances
 * happen in between; the transport (deferred delivery) commits only what an archive reports as
 * durable. This registry creates and drops the archives, drives their clocks, drains them on
 * SIGTERM and tells readiness.
 */
@Injectable()
export class ArchiverService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy, TransportObserver {
  private readonly logger = new Logger(ArchiverService.name);
  private readonly archives = new Map<string, PartitionArchive>();
  /** Archives of partitions this instance lost, while they write out what they hold. */
  private readonly leaving = new Set<Promise<void>>();
  private readonly settings: ArchiveSettings;
  private timer?: NodeJS.Timeout;
  private s3Failing = false;
  private draining = false;

  constructor(
    @Inject(ARCHIVER_ENV) env: ArchiverEnv,
    @Inject(ARCHIVE_STORE) private readonly store: ArchiveStore,
    metrics: ArchiverMetrics,
    readiness: ReadinessRegistry,
  ) {
    this.settings = {
      store,
      metrics,
      filing: new RecordFiling(env),
      keyFormat: {
        layout: env.ARCHIVER_KEY_LAYOUT,
        topicsDir: env.ARCHIVER_TOPICS_DIR,
        naming: env.ARCHIVER_FILE_NAMING,
        zeroPadWidth: env.ARCHIVER_OFFSET_ZERO_PAD_WIDTH,
        gzip: env.ARCHIVER_GZIP,
      },
      policy: {
        flushSize: env.ARCHIVER_FLUSH_SIZE,
        rotateIntervalMs: env.ARCHIVER_ROTATE_INTERVAL_MS,
        rotateScheduleIntervalMs: env.ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS,
        localTime: (t) => localTimeMs(t, env.ARCHIVER_TIMEZONE),
      },
      slots: new UploadSlots(env.ARCHIVER_MAX_UPLOADS_IN_FLIGHT),
      overMemory: () => this.bufferedBytes() > env.ARCHIVER_MAX_BUFFER_BYTES,
      uploaded: (ok) => (this.s3Failing = !ok),
    };
    metrics.watchBuffers(() => [...this.archives.values()].map((archive) => archive.snapshot));
    readiness.register('s3', async () => {
      await this.store.checkBucket();
      if (this.s3Failing) throw new Error('uploads are failing');
    });
  }

  onApplicationBootstrap(): void {
    if (this.settings.filing.filesByArrival)
      this.logger.warn(
        'ARCHIVER_TIMESTAMP_EXTRACTOR=Wallclock: a record read again after a crash may be filed under another time partition, so it can land in S3 twice',
      );
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const archive of this.archives.values()) archive.tick(now);
    }, TICK_MS);
  }

  /** A batch of one partition, for that partition's archive; none while draining (it is read again after the restart). */
  handle(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<BatchResult> {
    if (this.draining) return Promise.reject(new BatchDeclined('draining for shutdown'));
    const id = `${batch.topic}/${batch.partition}`;
    let archive = this.archives.get(id);
    if (!archive) {
      archive = new PartitionArchive(batch.topic, batch.partition, this.settings);
      this.archives.set(id, archive);
    }
    return archive.take(batch, ctx);
  }

  /** Partitions this instance lost are written out by their archives, which then go. */
  assignmentChanged(assigned: ReadonlyMap<string, readonly number[]>): void {
    for (const [id, archive] of this.archives) {
      if (assigned.get(archive.topic)?.includes(archive.partition)) continue;
      this.archives.delete(id);
      this.leave(archive);
    }
  }

  /**
   * The partition's offsets started again (a recreated topic): its archive knows offsets of the
   * earlier life, which it would take the new records for. It writes out what it holds, as on a
   * revoke, and the next batch gets a new archive; the store files colliding keys under a new
   * generation.
   */
  partitionReset(topic: string, partition: number): void {
    const id = `${topic}/${partition}`;
    const archive = this.archives.get(id);
    if (!archive) return;
    this.archives.delete(id);
    this.leave(archive);
  }

  /** Lets an archive write out what it holds, and keeps the drain waiting for it. */
  private leave(archive: PartitionArchive): void {
    const revoked = archive.revoke().finally(() => this.leaving.delete(revoked));
    this.leaving.add(revoked);
  }

  /** SIGTERM: take no new batches; write every buffer and report it while the consumer is still in the group. */
  async drain(): Promise<void> {
    this.draining = true;
    clearInterval(this.timer);
    await Promise.all([...[...this.archives.values()].map((archive) => archive.shutdown()), ...this.leaving]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private bufferedBytes(): number {
    let total = 0;
    for (const archive of this.archives.values()) total += archive.bufferedBytes;
    return total;
  }
}
