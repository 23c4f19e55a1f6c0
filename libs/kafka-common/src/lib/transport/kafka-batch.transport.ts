import { Logger, LoggerService } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Admin, Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import { RawTopicRef } from '../contracts/topics';
import { DeadLetterReason, deadLetterMessage } from '../kafka/dead-letter';
import { sendRaw } from '../kafka/contract-producer';
import { BatchOutcome, KafkaBatch, KafkaBatchContext, KafkaBatchContextHost, PartitionCommitter } from './kafka-batch.context';
import { requestShutdown } from '../bootstrap/start-service';
import { MetricsService } from '../metrics/metrics.service';
import { backoffDelay } from './backoff';
import { ConsumerLagGauge } from './consumer-lag';

export interface Subscription {
  /** The pattern handlers use in `@EventPattern(...)`. */
  readonly key: string;
  /** The Kafka topic it is bound to. */
  readonly topic: string;
}

/** Hooks for metrics; every method is optional. */
export interface TransportObserver {
  batchStarted?(topic: string, partition: number, size: number, highWatermark: string, lastOffset: string): void;
  batchFinished?(topic: string, partition: number, size: number, seconds: number): void;
  batchFailed?(topic: string, partition: number, error: unknown): void;
  committed?(topic: string, partition: number, nextOffset: string): void;
  commitRefused?(topic: string, partition: number): void;
  deadLettered?(topic: string, reason: string): void;
  assignmentChanged?(assigned: ReadonlyMap<string, readonly number[]>): void;
  /**
   * Records up to `nextOffset` held only transaction markers, which never reach a handler. For
   * handlers that commit themselves: everything before `nextOffset` that they have seen is done.
   */
  markersPassed?(topic: string, partition: number, nextOffset: string): void;
}

export interface KafkaBatchTransportOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly subscriptions: readonly Subscription[];
  /** Name put in the dead-letter consumer header. */
  readonly consumerName: string;
  readonly deadLetter?: { readonly producer: Producer; readonly topic: RawTopicRef };
  /** Read only committed transactional records (default true). */
  readonly readCommitted?: boolean;
  /** Start a new group at the earliest offset (default true: nothing already in the topic is skipped). */
  readonly fromBeginning?: boolean;
  /**
   * Commit offsets (default true). A consumer whose state is rebuilt from the whole topic on every
   * start (the verifier) passes false: it never commits, so each start reads from the beginning.
   */
  readonly commitOffsets?: boolean;
  readonly partitionsConsumedConcurrently?: number;
  readonly consumer?: Partial<ConsumerConfig>;
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * When kafkajs gives a crashed consumer up (a non-retriable error, such as no group coordinator
   * while a broker is still loading), the transport starts a new one this many times, with
   * backoff, before it asks the service to exit non-zero so its supervisor restarts it (default 8).
   */
  readonly consumerRestarts?: number;
  /** What giving up does (default: shut the service down with exit code 1). */
  readonly onConsumerLost?: (error: Error) => void;
  readonly observers?: readonly TransportObserver[];
  /** Where the transport's own metrics go (consumer lag against committed offsets). */
  readonly metrics?: MetricsService;
  readonly logger?: LoggerService;
}

/**
 * A NestJS microservice transport that hands `@EventPattern` handlers whole batches of one
 * partition (kafkajs `eachBatch`) and commits by hand: a partition's offset is committed only
 * after the handler's promise resolved, never for a partition this instance no longer owns.
 * A failing handler commits nothing; the partition pauses with backoff and the same records
 * come again, while other partitions keep moving.
 */
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private consumer?: Consumer;
  /** For the lag gauge: committed offsets and partition ends, read at scrape time. */
  private admin?: Admin;
  private readonly lag?: ConsumerLagGauge;
  private readonly assigned = new Map<string, Set<number>>();
  private generation = 0;
  private readonly failures = new Map<string, number>();
  /** Per partition: the highest offset committed in this generation, and who commits it. */
  private readonly commits = new Map<string, { generation: number; offset: bigint; chain: Promise<unknown> }>();
  private readonly handlerCommits = new Set<string>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly log: LoggerService;
  private closing = false;
  /** Consumer restarts since the group was last joined. */
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;

  constructor(private readonly options: KafkaBatchTransportOptions) {
    super();
    this.log = options.logger ?? new Logger(KafkaBatchTransport.name);
    // A consumer that never commits (the verifier) has no lag worth showing: it would be the whole topic.
    if (options.metrics && options.commitOffsets !== false) {
      this.lag = new ConsumerLagGauge(
        options.metrics,
        () => this.admin,
        options.groupId,
        () => this.assignment(),
      );
    }
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  private async start(): Promise<void> {
    const { kafka, groupId, subscriptions } = this.options;
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: !(this.options.readCommitted ?? true),
      allowAutoTopicCreation: false,
      // A crashed member holds its partitions until the session times out: keep that short.
      sessionTimeout: 10000,
      rebalanceTimeout: 60000,
      heartbeatInterval: 3000,
      maxBytesPerPartition: 1048576,
      maxWaitTimeInMs: 100,
      ...this.options.consumer,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => {
      // Eager rebalancing revokes everything: from here on nothing may be committed until the
      // next assignment says what is ours again.
      this.generation++;
      this.assigned.clear();
      this.assignmentChanged();
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.restarts = 0;
      this.generation++;
      this.assigned.clear();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        this.assigned.set(topic, new Set(partitions));
      }
      this.assignmentChanged();
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // kafkajs resolves batches that held only transaction markers without calling eachBatch;
      // everything before them was processed already (a partition's batches run in order and an
      // unresolved batch is fetched again first), so their end can be committed too.
      if (payload.batchSize !== 0 || this.options.commitOffsets === false) return;
      const { topic, partition } = payload;
      const nextOffset = (BigInt(payload.lastOffset) + 1n).toString();
      if (this.handlerCommits.has(`${topic}/${partition}`)) this.notify((o) => o.markersPassed?.(topic, partition, nextOffset));
      else void this.committer(topic, partition, this.generation)(nextOffset).catch(() => undefined);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error(`consumer crashed (restart: ${payload.restart}): ${payload.error.message}`, undefined, KafkaBatchTransport.name);
      if (!payload.restart && consumer === this.consumer) this.restartConsumer(payload.error);
    });
    await consumer.connect();
    if (this.lag && !this.admin) {
      this.admin = kafka.admin();
      await this.admin.connect();
    }
    await consumer.subscribe({ topics: subscriptions.map((s) => s.topic), fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.processBatch(payload),
    });
  }

  private assignmentChanged(): void {
    const assignment = this.assignment();
    this.lag?.retain(assignment);
    this.notify((o) => o.assignmentChanged?.(assignment));
  }

  /**
   * kafkajs leaves a consumer it will not restart disconnected, and a service that kept running
   * without it would look alive while consuming nothing. Start a new one after a backoff; after
   * `consumerRestarts` failures in a row, give up loudly instead.
   */
  private restartConsumer(error: Error): void {
    if (this.closing) return;
    this.generation++;
    this.assigned.clear();
    this.assignmentChanged();
    const limit = this.options.consumerRestarts ?? 8;
    this.restarts++;
    if (this.restarts > limit) {
      this.log.error(`consumer lost after ${limit} restarts: ${error.message}`, undefined, KafkaBatchTransport.name);
      (this.options.onConsumerLost ?? (() => requestShutdown(1)))(error);
      return;
    }
    const retry = this.options.retry ?? { initialMs: 200, maxMs: 30000 };
    const delay = backoffDelay(this.restarts, Math.max(retry.initialMs, 500), Math.min(retry.maxMs, 10000));
    this.log.warn(`starting a new consumer in ${delay} ms (restart ${this.restarts} of ${limit})`, KafkaBatchTransport.name);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing) return;
      this.start().catch((failed: unknown) => this.restartConsumer(failed instanceof Error ? failed : new Error(String(failed))));
    }, delay);
  }

  /** The partitions this instance owns right now, by topic. */
  assignment(): ReadonlyMap<string, readonly number[]> {
    return new Map([...this.assigned].map(([topic, partitions]) => [topic, [...partitions].sort((a, b) => a - b)]));
  }

  private owns(topic: string, partition: number, generation: number): boolean {
    return generation === this.generation && (this.assigned.get(topic)?.has(partition) ?? false);
  }

  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    if (batch.messages.length === 0) return;
    const subscription = this.options.subscriptions.find((s) => s.topic === topic);
    const handler = subscription ? this.getHandlerByPattern(subscription.key) : null;
    if (!subscription || !handler) {
      throw new Error(`no @EventPattern handler for topic ${topic}`);
    }
    const generation = this.generation;
    const data: KafkaBatch = {
      topic,
      partition,
      messages: batch.messages,
      firstOffset: batch.firstOffset() ?? batch.messages[0]?.offset ?? '0',
      lastOffset: batch.lastOffset(),
      highWatermark: batch.highWatermark,
    };
    const host: KafkaBatchContextHost = {
      groupId: this.options.groupId,
      consumerName: this.options.consumerName,
      heartbeat: () => payload.heartbeat(),
      isStale: () => payload.isStale(),
      committer: () => this.committer(topic, partition, generation),
      deadLetter: (message, failure) => this.sendDeadLetter(topic, partition, message, failure),
      deadLetterMessage: (message, failure) => deadLetterMessage({ topic, partition, message }, failure, this.options.consumerName),
    };
    const started = process.hrtime.bigint();
    this.notify((o) => o.batchStarted?.(topic, partition, batch.messages.length, batch.highWatermark, data.lastOffset));
    const beat = setInterval(() => {
      payload.heartbeat().catch(() => undefined);
    }, 1000);
    let outcome: BatchOutcome | undefined;
    try {
      const result: unknown = await handler(data, new KafkaBatchContext([data, host]));
      outcome = (await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined })) as BatchOutcome | undefined;
    } catch (error) {
      clearInterval(beat);
      this.notify((o) => o.batchFailed?.(topic, partition, error));
      this.retryLater(payload, error);
      return;
    }
    clearInterval(beat);
    this.failures.delete(`${topic}/${partition}`);
    this.notify((o) => o.batchFinished?.(topic, partition, batch.messages.length, Number(process.hrtime.bigint() - started) / 1e9));
    const last = batch.messages[batch.messages.length - 1];
    if (last) payload.resolveOffset(last.offset);
    const commit = outcome?.commit ?? 'batch';
    if (this.options.commitOffsets === false) return;
    if (commit === 'by-handler') {
      this.handlerCommits.add(`${topic}/${partition}`);
      return;
    }
    this.handlerCommits.delete(`${topic}/${partition}`);
    const nextOffset = (BigInt(data.lastOffset) + 1n).toString();
    if (payload.isStale()) {
      this.notify((o) => o.commitRefused?.(topic, partition));
      return;
    }
    await this.committer(topic, partition, generation)(nextOffset);
  }

  /**
   * Commits for one partition run one after another and only ever move forward within a
   * generation, so a commit that finishes late can never move the group's offset back.
   */
  private committer(topic: string, partition: number, generation: number): PartitionCommitter {
    return (nextOffset: string) => {
      const key = `${topic}/${partition}`;
      let state = this.commits.get(key);
      if (!state || state.generation !== generation) {
        state = { generation, offset: -1n, chain: Promise.resolve() };
        this.commits.set(key, state);
      }
      const current = state;
      const attempt = current.chain.then(async () => {
        if (!this.consumer || !this.owns(topic, partition, generation)) {
          this.notify((o) => o.commitRefused?.(topic, partition));
          return false;
        }
        const offset = BigInt(nextOffset);
        if (offset <= current.offset) return true;
        await this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
        current.offset = offset;
        this.notify((o) => o.committed?.(topic, partition, nextOffset));
        return true;
      });
      current.chain = attempt.catch(() => undefined);
      return attempt;
    };
  }

  private async sendDeadLetter(topic: string, partition: number, message: KafkaMessage, failure: DeadLetterReason): Promise<void> {
    const target = this.options.deadLetter;
    if (!target) throw new Error('this transport has no dead-letter producer');
    await sendRaw(target.producer, target.topic, [deadLetterMessage({ topic, partition, message }, failure, this.options.consumerName)]);
    this.notify((o) => o.deadLettered?.(topic, failure.reason));
  }

  /**
   * Nothing of the batch was resolved, so kafkajs fetches the same records again; pausing the
   * partition for a growing delay keeps that from becoming a hot loop against a failing sink.
   */
  private retryLater(payload: EachBatchPayload, error: unknown): void {
    const { topic, partition } = payload.batch;
    const key = `${topic}/${partition}`;
    const attempt = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempt);
    const retry = this.options.retry ?? { initialMs: 200, maxMs: 30000 };
    const delay = backoffDelay(attempt, retry.initialMs, retry.maxMs);
    const reason = error instanceof Error ? error.message : String(error);
    this.log.warn(
      `batch ${key}@${payload.batch.firstOffset()} failed (attempt ${attempt}), retrying in ${delay} ms: ${reason}`,
      KafkaBatchTransport.name,
    );
    const resume = payload.pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.closing) resume();
    }, delay);
    this.resumeTimers.add(timer);
  }

  private notify(call: (observer: TransportObserver) => void): void {
    for (const observer of this.options.observers ?? []) call(observer);
  }

  on(): never {
    throw new Error('KafkaBatchTransport does not emit events; use the TransportObserver');
  }

  unwrap<T>(): T {
    if (!this.consumer) throw new Error('the transport is not listening yet');
    return this.consumer as T;
  }

  /** Drains: kafkajs waits for running batches before it leaves the group. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    await this.consumer?.disconnect();
    this.consumer = undefined;
    await this.admin?.disconnect();
    this.admin = undefined;
  }
}
