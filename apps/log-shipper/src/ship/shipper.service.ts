import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  connectTransactional,
  createTransactionalProducer,
  ensureTopics,
  KAFKA_CLIENT,
  PIPELINE_TOPICS,
  PipelineTopics,
  readTopicToEnd,
  ReadinessRegistry,
  requestShutdown,
  sendRaw,
  sendRecords,
} from '@weblog/kafka-common';
import { Kafka, KafkaMessage, Producer } from 'kafkajs';
import { FileSet, TrackedFile } from '../files/file-set';
import { LineBatch } from '../files/file-tailer';
import { lineParser } from '../parse/line-parser';
import { SHIPPER_ENV } from '../shipper.tokens';
import { ShipperEnv, shipperFiles } from '../shipper.env';
import { lineRecords } from './line-records';
import { foldPositions, PositionRecord, positionKey } from './position-record';
import { ShipperMetrics } from './shipper.metrics';

/** Every wait on Kafka is bounded: a transaction that takes longer is aborted and retried. */
const TRANSACTION_DEADLINE_MS = 20000;
const CONNECT_DEADLINE_MS = 30000;
const READ_POSITIONS_DEADLINE_MS = 60000;
const RETRY_BACKOFF_MS = [200, 500, 1000, 2000, 5000] as const;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Tails the configured files and ships each line exactly once: one transaction holds a batch of
 * one file's lines (web logs to the input topic, refused lines to the dead-letter topic) and the
 * file's new position in the offsets topic. A position is therefore visible to a read-committed
 * reader exactly when the records it covers are, and a restart resumes from it.
 */
@Injectable()
export class ShipperService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ShipperService.name);
  private readonly files: FileSet;
  private producer?: Producer;
  private positions = new Map<string, PositionRecord>();
  private positionsLoaded = false;
  private stopping = false;
  private failures = 0;
  private loop?: Promise<void>;
  private wake?: () => void;
  private progress?: NodeJS.Timeout;
  private readonly totals = { shipped: 0, rejected: 0, behind: 0, files: new Set<string>() };

  constructor(
    @Inject(SHIPPER_ENV) private readonly env: ShipperEnv,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    private readonly metrics: ShipperMetrics,
    readiness: ReadinessRegistry,
  ) {
    this.files = new FileSet(shipperFiles(env), { rotatedGraceMs: env.SHIPPER_ROTATED_GRACE_MS });
    readiness.register('positions', () =>
      this.positionsLoaded && this.producer ? Promise.resolve() : Promise.reject(new Error('file positions not loaded yet')),
    );
  }

  onApplicationBootstrap(): void {
    this.loop = this.run().catch((error: unknown) => {
      this.logger.error(`shipping stopped: ${message(error)}`);
      requestShutdown(1);
    });
    if (this.env.SHIPPER_PROGRESS_INTERVAL_MS > 0) {
      this.progress = setInterval(() => this.logProgress(), this.env.SHIPPER_PROGRESS_INTERVAL_MS);
      this.progress.unref();
    }
  }

  /** SIGTERM: the transaction in flight commits or aborts, then the producer and files close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    clearInterval(this.progress);
    await this.loop;
    await this.producer?.disconnect().catch(() => undefined);
    await this.files.close();
    this.logger.log(`stopped: ${this.totals.shipped} lines shipped, ${this.totals.rejected} rejected`);
  }

  private async run(): Promise<void> {
    await this.connect();
    for (let round = 0; !this.stopping; round++) {
      const { opened, closed } = await this.files.refresh();
      for (const entry of closed) this.metrics.bytesBehind.remove({ file: entry.tailer.path });
      for (const entry of opened) this.logger.log(`following ${entry.tailer.path} (${entry.format})`);
      let shipped = false;
      let behind = 0;
      for (const entry of this.files.files()) {
        if (this.stopping) break;
        shipped = (await this.shipFrom(entry)) || shipped;
        const lag = Math.max(0, (await entry.tailer.size()) - entry.tailer.position);
        this.metrics.bytesBehind.set({ file: entry.tailer.path }, lag);
        behind += lag;
      }
      this.totals.behind = behind;
      if (this.env.SHIPPER_ONE_SHOT && !shipped) {
        this.logger.log(`shipped ${this.totals.shipped} lines (${this.totals.rejected} rejected) from ${this.totals.files.size} files`);
        if (!this.stopping) requestShutdown(0);
        return;
      }
      if (!shipped) await this.pause(this.env.SHIPPER_POLL_INTERVAL_MS);
    }
  }

  /** One batch of one file; true when it moved the file's position. */
  private async shipFrom(entry: TrackedFile): Promise<boolean> {
    const { tailer } = entry;
    if (await tailer.checkTruncated()) this.logger.log(`${tailer.path} was truncated (copy-truncate): reading it again from the start`);
    const identity = await tailer.identify();
    if (!identity) return false;
    const key = positionKey(this.env.SHIPPER_ID, identity);
    if (tailer.needsResume) await tailer.resume(this.positions.get(key));
    this.totals.files.add(key);
    const batch = await tailer.read(this.env.SHIPPER_BATCH_LINES, this.env.SHIPPER_ONE_SHOT);
    if (batch.lines.length === 0) return false;
    try {
      await this.commitBatch(entry, key, batch);
      this.failures = 0;
      return true;
    } catch (error) {
      this.failures++;
      this.metrics.transactions.inc({ outcome: 'aborted' });
      this.logger.warn(
        `transaction for ${tailer.path} failed (${this.failures} in a row), retrying from the committed position: ${message(error)}`,
      );
      await this.recover();
      // A commit whose answer was lost may have landed: the offsets topic says so, and the lines are not sent again.
      const stored = this.positions.get(key);
      if (stored && stored.sequence > tailer.sequence) tailer.commit(stored.position, stored.sequence);
      await this.pause(RETRY_BACKOFF_MS[Math.min(this.failures - 1, RETRY_BACKOFF_MS.length - 1)] ?? 5000);
      return true;
    }
  }

  private async commitBatch(entry: TrackedFile, key: string, batch: LineBatch): Promise<void> {
    const { tailer } = entry;
    const identity = tailer.identity;
    const producer = this.producer;
    if (!identity || !producer) throw new Error('the producer is not connected');
    const built = lineRecords(
      batch.lines,
      { path: tailer.path, runId: key, sequenceBefore: tailer.sequence, shipperId: this.env.SHIPPER_ID },
      lineParser(entry.format),
    );
    const position: PositionRecord = {
      path: tailer.path,
      device: identity.device,
      inode: identity.inode,
      fingerprint: identity.fingerprint,
      position: batch.end,
      sequence: tailer.sequence + batch.lines.length,
    };
    const transaction = await withDeadline(producer.transaction(), TRANSACTION_DEADLINE_MS, 'starting a transaction');
    try {
      await withDeadline(
        (async () => {
          await sendRecords(transaction, this.topics.input, built.records);
          if (built.deadLetters.length > 0) await sendRaw(transaction, this.topics.deadLetter, built.deadLetters);
          await sendRaw(transaction, { name: this.env.SHIPPER_OFFSETS_TOPIC }, [{ key, value: JSON.stringify(position) }]);
          await transaction.commit();
        })(),
        TRANSACTION_DEADLINE_MS,
        'the transaction',
      );
    } catch (error) {
      await withDeadline(transaction.abort(), 5000, 'aborting').catch(() => undefined);
      throw error;
    }
    tailer.commit(position.position, position.sequence);
    this.positions.set(key, position);
    this.metrics.transactions.inc({ outcome: 'committed' });
    this.metrics.linesRead.inc(batch.lines.length);
    this.metrics.linesShipped.inc(built.records.length);
    for (const reason of built.rejected) this.metrics.linesRejected.inc({ reason });
    this.totals.shipped += built.records.length;
    this.totals.rejected += built.rejected.length;
  }

  /**
   * After a failure the outcome of the last commit may be unknown. A new producer with the same
   * transactional id fences the old one and completes or aborts what it left open; reading the
   * offsets topic (read committed) afterwards says where each file really stands.
   */
  private async recover(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    await old?.disconnect().catch(() => undefined);
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.connect();
        return;
      } catch (error) {
        this.logger.warn(`reconnecting to Kafka failed (attempt ${attempt + 1}): ${message(error)}`);
        await this.pause(RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length - 1)] ?? 5000);
      }
    }
  }

  /** Connects the transactional producer first (its initialisation ends a crashed predecessor's transaction), then reads the positions. */
  private async connect(): Promise<void> {
    const producer = createTransactionalProducer(this.kafka, this.env.SHIPPER_ID, TRANSACTION_DEADLINE_MS * 2);
    try {
      await withDeadline(connectTransactional(producer), CONNECT_DEADLINE_MS, 'connecting the transactional producer');
      const admin = this.kafka.admin();
      await withDeadline(admin.connect(), CONNECT_DEADLINE_MS, 'connecting the admin client');
      try {
        await withDeadline(
          ensureTopics(admin, [
            {
              name: this.env.SHIPPER_OFFSETS_TOPIC,
              partitions: 1,
              replicationFactor: this.topics.replicationFactor,
              config: { 'cleanup.policy': 'compact' },
            },
          ]),
          CONNECT_DEADLINE_MS,
          'creating the offsets topic',
        );
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      const records: KafkaMessage[] = [];
      await readTopicToEnd(this.kafka, this.env.SHIPPER_OFFSETS_TOPIC, (_partition, record) => records.push(record), {
        timeoutMs: READ_POSITIONS_DEADLINE_MS,
      });
      this.positions = foldPositions(this.env.SHIPPER_ID, records);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    this.producer = producer;
    if (!this.positionsLoaded) this.logger.log(`loaded ${this.positions.size} file positions of ${this.env.SHIPPER_ID}`);
    this.positionsLoaded = true;
  }

  private logProgress(): void {
    this.logger.log(
      `progress: ${this.totals.shipped} lines shipped, ${this.totals.rejected} rejected, ${this.totals.behind} bytes behind in ${this.files.files().length} files`,
    );
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
