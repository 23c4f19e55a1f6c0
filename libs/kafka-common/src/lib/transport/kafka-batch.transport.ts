import { Logger, LoggerService } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Admin, Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import { RawTopicRef } from '../contracts/topics';
import { deadLetterMessage } from '../kafka/dead-letter';
import { connectTransactional, createTransactionalProducer, sendRaw } from '../kafka/contract-producer';
import { SendCoalescer } from '../kafka/send-coalescer';
import { DurabilityReporter, KafkaBatch, KafkaBatchContext, KafkaBatchContextHost } from './kafka-batch.context';

/** Commits `nextOffset` for the partition if this instance still owns it; false when it does not. */
type PartitionCommitter = (nextOffset: string) => Promise<boolean>;
import { requestShutdown } from '../bootstrap/start-service';
import { ReadinessRegistry } from '../health/readiness.registry';
import { MetricsService } from '../metrics/metrics.service';
import { backoffDelay } from './backoff';
import { ConsumerLagGauge } from './consumer-lag';
import {
  BatchDeclined,
  BatchResult,
  committedAfterOurs,
  DeferredProgress,
  DeliveryMode,
  HangingTransactionError,
  publicationMessages,
  Refusal,
  TransactionalProgress,
  UNSTABLE,
} from './delivery';
import { TransportMetrics } from './transport.metrics';

/** How long a resync waits for the group's committed offset to reach our own last commit (delivery.ts, rule 3). */
const STABLE_OFFSET_WAIT_MS = 15000;
/**
 * How long, after our producer fenced every transaction of its id, the group's offset may stay
 * held by one before it counts as hanging. The broker completes a transaction only once its
 * markers are written, so a held offset clears within milliseconds unless the markers are lost.
 */
const HANGING_AFTER_MS = 5000;
/** Batches from beyond a rewind's offset dropped before the transport believes where kafkajs is (`fetchedBeforeRewind`). */
const REWIND_DROPS = 20;
/** A consumer commit unanswered this long is logged: the partition's later commits wait for it. */
const SLOW_COMMIT_MS = 30000;

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
  /**
   * The partition was fetched from below where it stood: its topic was deleted and created again
   * (offsets restart at 0), or its group's offsets were reset. What a handler remembers of the
   * partition's offsets belongs to its earlier life; the next batch starts it afresh.
   */
  partitionReset?(topic: string, partition: number, from: string, stoodAt: string): void;
  /** A batch's results were published (and, but in `deferred` mode, its offsets committed). */
  batchDelivered?(topic: string, partition: number, result: BatchResult): void;
  committed?(topic: string, partition: number, nextOffset: string): void;
  commitRefused?(topic: string, partition: number): void;
  deadLettered?(topic: string, reason: string): void;
  assignmentChanged?(assigned: ReadonlyMap<string, readonly number[]>): void;
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
  /** How results are published and offsets committed (default `ack-then-commit`); see delivery.ts. */
  readonly delivery?: DeliveryMode;
  /** `transaction` mode: transactional ids are `<prefix>-<topic>-<partition>`. */
  readonly transactionalIdPrefix?: string;
  /**
   * A batch whose handler runs longer than this stops being heartbeated, so a stuck instance
   * leaves the group and its partitions move on (default 60 s).
   */
  readonly maxBatchMs?: number;
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
  /** Where the transport's own metrics go (batches, commits, dead letters, transactions, lag). */
  readonly metrics?: MetricsService;
  /** Where the transport says whether its consumer is running (unready after a crash until it rejoins). */
  readonly readiness?: ReadinessRegistry;
  readonly logger?: LoggerService;
}

/**
 * A NestJS microservice transport that hands `@EventPattern` handlers whole batches of one
 * partition (kafkajs `eachBatch`) and owns delivery: it publishes what the handler returns and
 * commits in the configured mode, by the rules written down in delivery.ts. A failing handler
 * commits nothing; the partition pauses with backoff and the same records come again, while
 * other partitions keep moving.
 */
export class KafkaBatchTransport extends Server implements CustomTransportStrategy {
  private consumer?: Consumer;
  /** Committed offsets for the lag gauge and the exactly-once resync. */
  private admin?: Admin;
  private readonly lag?: ConsumerLagGauge;
  private readonly metrics?: TransportMetrics;
  private readonly mode: DeliveryMode;
  private readonly assigned = new Map<string, Set<number>>();
  private generation = 0;
  private readonly failures = new Map<string, number>();
  /** The batch of each partition now being processed, settled or not: the next one waits for it. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Per partition: how many times a failed send sent it back (`rewind`); a batch handed over before is dropped. */
  private readonly rewinds = new Map<string, number>();
  /**
   * Per partition sent back (`rewind`) and not fetched from there again yet: where it was sent,
   * in which generation, and how many batches from beyond it were dropped meanwhile.
   */
  private readonly rewoundTo = new Map<string, { generation: number; offset: bigint; dropped: number }>();
  /** Per partition: where this process stands, to tell a recreated topic or a reset group (delivery.ts, rule 6). */
  private readonly positions = new Map<string, { generation: number; next: bigint }>();
  private readonly lastCommitted = new Map<string, bigint>();
  /** Per partition: the highest offset committed in this generation, and who commits it. */
  private readonly commits = new Map<string, { generation: number; offset: bigint; chain: Promise<unknown> }>();
  /** `deferred` mode: per partition, what was taken and reported durable in this generation. */
  private readonly deferred = new Map<string, { generation: number; progress: DeferredProgress }>();
  /** `transaction` mode: per partition, the position of our last transaction and its producer. */
  private readonly transactional = new Map<string, { progress: TransactionalProgress; producer?: Promise<Producer> }>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** Partitions and generations whose refused commit was logged (`refuseCommit`). */
  private readonly refusalsSaid = new Set<string>();
  /** Commits started after their batch was resolved, not yet answered (`commitBehind`). */
  private readonly commitsBehind = new Set<Promise<void>>();
  private readonly log: LoggerService;
  private closing = false;
  /** Sends of the plain producer (publications and dead letters outside transactions), coalesced. */
  private coalescer?: SendCoalescer;
  /** The consumer crashed and no new one has joined the group yet. */
  private crashed: Error | undefined;
  /** Consumer restarts since the group was last joined. */
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;

  constructor(private readonly options: KafkaBatchTransportOptions) {
    super();
    this.log = options.logger ?? new Logger(KafkaBatchTransport.name);
    this.mode = options.delivery ?? 'ack-then-commit';
    if (options.metrics) this.metrics = new TransportMetrics(options.metrics);
    // A consumer that never commits (the verifier) has no lag worth showing: it would be the whole topic.
    if (options.metrics && this.mode !== 'never-commit') {
      this.lag = new ConsumerLagGauge(
        options.metrics,
        () => this.admin,
        options.groupId,
        () => this.assignment(),
      );
    }
    options.readiness?.register('kafka-consumer', () =>
      this.crashed ? Promise.reject(new Error(`consumer crashed: ${this.crashed.message}`)) : Promise.resolve(),
    );
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
      this.crashed = undefined;
      this.generation++;
      this.assigned.clear();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        this.assigned.set(topic, new Set(partitions));
      }
      this.assignmentChanged();
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // kafkajs resolves batches that held only transaction markers without calling eachBatch.
      if (payload.batchSize === 0) this.markersOnly(payload.topic, payload.partition, BigInt(payload.lastOffset));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error(`consumer crashed (restart: ${payload.restart}): ${payload.error.message}`);
      if (consumer !== this.consumer) return;
      this.crashed = payload.error;
      if (!payload.restart) this.restartConsumer(payload.error);
    });
    await consumer.connect();
    if ((this.lag || this.mode === 'transaction') && !this.admin) {
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
    for (const key of [...this.transactional.keys()]) {
      const [topic, partition] = splitKey(key);
      // A partition that comes back is resynchronised anyway; its old floor must not outlive a recreated topic.
      if (!(assignment.get(topic)?.includes(partition) ?? false)) this.transactional.get(key)?.progress.doubt();
    }
    this.notify((o) => o.assignmentChanged?.(assignment));
  }

  /**
   * kafkajs leaves a consumer it will not restart disconnected, and a service that kept running
   * without it would look alive while consuming nothing. Start a new one after a backoff; after
   * `consumerRestarts` failures in a row, give up loudly instead.
   */
  private restartConsumer(error: Error): void {
    if (this.closing) return;
    this.crashed = error;
    this.generation++;
    this.assigned.clear();
    this.assignmentChanged();
    const limit = this.options.consumerRestarts ?? 8;
    this.restarts++;
    if (this.restarts > limit) {
      this.log.error(`consumer lost after ${limit} restarts: ${error.message}`);
      (this.options.onConsumerLost ?? (() => requestShutdown(1)))(error);
      return;
    }
    const retry = this.options.retry ?? { initialMs: 200, maxMs: 30000 };
    const delay = backoffDelay(this.restarts, Math.max(retry.initialMs, 500), Math.min(retry.maxMs, 10000));
    this.log.warn(`starting a new consumer in ${delay} ms (restart ${this.restarts} of ${limit})`);
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

  /**
   * One batch of a partition at a time. kafkajs can hand a partition over again while a batch of
   * it still runs: a rejoin waits for the fetchers, not for every batch they handed to workers
   * (one failing batch ends its fetch at once). The later one waits, and then finds the earlier
   * one's commit (rule 3) instead of doing its records a second time. At least once and exactly
   * once, a batch is resolved as soon as its handler starts, and handled and delivered behind
   * (`deliverBehind`): kafkajs waits for every batch of a fetch before it fetches again, so a batch
   * that waited for its handler and its sends (or transaction) held the next fetch, and every
   * other partition, behind it. The partition's next batch waits until the one before is
   * delivered. Heartbeats cover the wait as they cover the handler.
   */
  private processBatch(payload: EachBatchPayload): Promise<void> {
    const key = `${payload.batch.topic}/${payload.batch.partition}`;
    const rewinds = this.rewinds.get(key) ?? 0;
    const running = this.inFlight.get(key);
    const beat = this.heartbeat(payload, key);
    const turn = (running ?? Promise.resolve()).then(() => this.processBatchAlone(payload, rewinds));
    const settled = turn.then(
      (behind) => behind?.delivered,
      () => undefined,
    );
    this.inFlight.set(key, settled);
    void settled.then(() => {
      if (this.inFlight.get(key) === settled) this.inFlight.delete(key);
    });
    return turn.then(
      () => clearInterval(beat),
      (error: unknown) => {
        clearInterval(beat);
        throw error;
      },
    );
  }

  /** What a batch resolved before it is delivered leaves running; it never rejects. */
  private async processBatchAlone(payload: EachBatchPayload, rewinds: number): Promise<{ delivered: Promise<void> } | undefined> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const first = batch.messages[0];
    const last = batch.messages[batch.messages.length - 1];
    if (!first || !last) return undefined;
    const subscription = this.options.subscriptions.find((s) => s.topic === topic);
    const handler = subscription ? this.getHandlerByPattern(subscription.key) : null;
    if (!subscription || !handler) {
      throw new Error(`no @EventPattern handler for topic ${topic}`);
    }
    const key = `${topic}/${partition}`;
    if ((this.rewinds.get(key) ?? 0) !== rewinds || this.fetchedBeforeRewind(payload, key, BigInt(first.offset))) {
      this.log.debug?.(`${key}@${first.offset}: fetched before the partition was rewound; dropped`);
      return undefined;
    }
    const generation = this.generation;
    const lastOffset = BigInt(batch.lastOffset());
    const started = process.hrtime.bigint();
    this.metrics?.consumed.inc(batch.messages.length);
    this.metrics?.batchSize.observe(batch.messages.length);
    this.notify((o) => o.batchStarted?.(topic, partition, batch.messages.length, batch.highWatermark, batch.lastOffset()));
    this.detectReset(key, generation, BigInt(batch.firstOffset() ?? last.offset));
    let delivered: Promise<void> | undefined;
    try {
      let messages: readonly KafkaMessage[] = batch.messages;
      const transactional = this.mode === 'transaction' ? await this.transactionalPartition(key, batch.firstOffset()) : undefined;
      if (transactional) messages = transactional.progress.pending(messages);
      if (messages.length > 0) {
        const data: KafkaBatch = {
          topic,
          partition,
          messages,
          firstOffset: messages[0]?.offset ?? batch.firstOffset() ?? '0',
          lastOffset: batch.lastOffset(),
          highWatermark: batch.highWatermark,
        };
        const handled = (async () => {
          const raw: unknown = await handler(data, new KafkaBatchContext([data, this.contextHost(payload, topic, partition, generation)]));
          return (await lastValueFrom(this.transformToObservable(raw), { defaultValue: undefined })) as BatchResult | undefined;
        })();
        if ((this.mode === 'ack-then-commit' || this.mode === 'transaction') && !this.closing) {
          delivered = this.deliverBehind(payload, handled, generation, BigInt(first.offset), lastOffset, started, transactional);
        } else {
          await this.deliver(payload, await handled, generation, lastOffset, transactional);
        }
      } else {
        this.log.warn(
          `${key}: ${batch.messages.length} records below the committed offset were already done by a transaction that committed; skipped`,
        );
        transactional?.progress.done(lastOffset);
      }
    } catch (error) {
      if (!(error instanceof BatchDeclined)) {
        this.metrics?.failures.inc();
        this.notify((o) => o.batchFailed?.(topic, partition, error));
      }
      this.retryLater(payload, error);
      return undefined;
    }
    payload.resolveOffset(last.offset);
    this.positions.set(key, { generation, next: lastOffset + 1n });
    if (delivered) return { delivered };
    this.batchDone(topic, partition, batch.messages.length, started);
    return undefined;
  }

  private batchDone(topic: string, partition: number, size: number, started: bigint): void {
    this.failures.delete(`${topic}/${partition}`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics?.batchSeconds.observe(seconds);
    this.notify((o) => o.batchFinished?.(topic, partition, size, seconds));
  }

  /**
   * `ack-then-commit` and `transaction`: the batch resolved before it is handled and delivered
   * (delivery.ts, rule 3). At least once, its records and dead letters are acknowledged, then its
   * end is committed behind it; exactly once, its transaction commits them with its end. A handler,
   * a send or a transaction that fails rewinds the partition to the batch's first record.
   */
  private deliverBehind(
    payload: EachBatchPayload,
    handled: Promise<BatchResult | undefined>,
    generation: number,
    firstOffset: bigint,
    lastOffset: bigint,
    started: bigint,
    transactional: { progress: TransactionalProgress } | undefined,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const size = payload.batch.messages.length;
    return handled
      .then(async (result) => {
        const outcome = result ?? {};
        if (transactional) await this.deliverIn(payload, outcome, generation, lastOffset, transactional);
        else await this.publishAcked(topic, partition, outcome);
        return outcome;
      })
      .then(
        async (outcome) => {
          this.notify((o) => o.batchDelivered?.(topic, partition, outcome));
          this.batchDone(topic, partition, size, started);
          if (!transactional) await this.commitBehind(topic, partition, () => this.commitIfOwned(payload, generation, lastOffset + 1n));
        },
        (error: unknown) => this.rewind(payload, generation, firstOffset, error),
      )
      .catch((error: unknown) => {
        // Not reached unless an observer throws or kafkajs refuses the seek (its consumer stopped,
        // which starts the partition from its committed offset again).
        this.log.error(`after the batch ${topic}/${partition}@${firstOffset}: ${error instanceof Error ? error.message : String(error)}`);
      });
  }

  /**
   * A batch resolved before it was delivered whose handler, sends or transaction failed. kafkajs
   * has moved past it, so the partition is sought back to the batch's first record (in the
   * generation it was fetched in; after a rejoin kafkajs starts from the committed offset anyway),
   * a batch of it handed over before this is dropped unhandled, and the partition pauses with
   * backoff as for any failure. A batch the handler declined is not counted as failed, as before
   * it was resolved.
   */
  private rewind(payload: EachBatchPayload, generation: number, firstOffset: bigint, error: unknown): void {
    const { topic, partition } = payload.batch;
    const key = `${topic}/${partition}`;
    this.rewinds.set(key, (this.rewinds.get(key) ?? 0) + 1);
    if (!(error instanceof BatchDeclined)) {
      this.metrics?.failures.inc();
      this.notify((o) => o.batchFailed?.(topic, partition, error));
    }
    if (!this.consumer || !this.owns(topic, partition, generation)) {
      this.log.warn(
        `batch ${key}@${firstOffset} failed after a rejoin, which starts the partition from its committed offset: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    this.consumer.seek({ topic, partition, offset: firstOffset.toString() });
    this.positions.set(key, { generation, next: firstOffset });
    this.rewoundTo.set(key, { generation, offset: firstOffset, dropped: 0 });
    this.retryLater(payload, error);
  }

  /**
   * Whether a batch handed over after a rewind still comes from beyond where the partition was
   * sent. kafkajs hands over the batches of a fetch as workers come free, without asking whether
   * their partition was sought meanwhile, so with more partitions than
   * `partitionsConsumedConcurrently` a batch fetched before the rewind can arrive after it. Such a
   * batch is dropped, and the seek asked again if kafkajs has already applied it. The partition's
   * first batch from the rewind's offset ends the watch; so does a rejoin. A partition that keeps
   * coming from beyond it (its records there deleted meanwhile, and kafkajs reset to the earliest
   * offset) goes on from where kafkajs is after `REWIND_DROPS` batches, loudly.
   */
  private fetchedBeforeRewind(payload: EachBatchPayload, key: string, firstOffset: bigint): boolean {
    const rewound = this.rewoundTo.get(key);
    if (!rewound) return false;
    if (rewound.generation !== this.generation || firstOffset <= rewound.offset) {
      this.rewoundTo.delete(key);
      return false;
    }
    if (rewound.dropped >= REWIND_DROPS) {
      this.rewoundTo.delete(key);
      this.log.error(
        `${key} was sent back to offset ${rewound.offset} after a failed send, but kafkajs keeps fetching it from ${firstOffset}; going on from there`,
      );
      return false;
    }
    rewound.dropped++;
    if (!payload.isStale())
      this.consumer?.seek({ topic: payload.batch.topic, partition: payload.batch.partition, offset: rewound.offset.toString() });
    return true;
  }

  /**
   * Within a generation kafkajs fetches a partition from where its last resolved batch ended, and
   * after a rejoin from the committed offset, which never lies below one we committed. A batch
   * starting lower means the partition's offsets started again (delivery.ts, rule 6).
   */
  private detectReset(key: string, generation: number, firstOffset: bigint): void {
    const position = this.positions.get(key);
    const resolved = position && position.generation === generation ? position.next : undefined;
    const committed = this.lastCommitted.get(key);
    const stoodAt = resolved !== undefined && (committed === undefined || resolved > committed) ? resolved : committed;
    if (stoodAt === undefined || firstOffset >= stoodAt) return;
    const [topic, partition] = splitKey(key);
    this.log.warn(
      `${key} was fetched from offset ${firstOffset}, below ${stoodAt} where it stood: the topic was created again or the group's offsets were reset; the partition starts afresh`,
    );
    this.positions.delete(key);
    this.rewoundTo.delete(key);
    this.lastCommitted.delete(key);
    this.commits.delete(key);
    this.deferred.delete(key);
    this.transactional.get(key)?.progress.doubt();
    this.notify((o) => o.partitionReset?.(topic, partition, firstOffset.toString(), stoodAt.toString()));
  }

  /** Publishes and commits one handled batch in the transport's mode (delivery.ts, rule 3). */
  private async deliver(
    payload: EachBatchPayload,
    result: BatchResult | undefined,
    generation: number,
    lastOffset: bigint,
    transactional: { progress: TransactionalProgress } | undefined,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const outcome: BatchResult = result ?? {};
    await this.deliverIn(payload, outcome, generation, lastOffset, transactional);
    this.notify((o) => o.batchDelivered?.(topic, partition, outcome));
  }

  private async deliverIn(
    payload: EachBatchPayload,
    outcome: BatchResult,
    generation: number,
    lastOffset: bigint,
    transactional: { progress: TransactionalProgress } | undefined,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const key = `${topic}/${partition}`;
    switch (this.mode) {
      case 'transaction':
        if (!transactional) throw new Error('no transactional state for the partition');
        await this.publishInTransaction(payload, transactional, outcome, lastOffset);
        return;
      case 'ack-then-commit':
        await this.publishAcked(topic, partition, outcome);
        await this.commitBehind(topic, partition, () => this.commitIfOwned(payload, generation, lastOffset + 1n));
        return;
      case 'deferred': {
        await this.publishAcked(topic, partition, outcome);
        const progress = this.deferredProgress(key, generation);
        const lastRecord = BigInt(payload.batch.messages[payload.batch.messages.length - 1]?.offset ?? lastOffset);
        progress.took(lastRecord, lastOffset);
        if (outcome.durableBelow !== undefined) progress.report(outcome.durableBelow);
        await this.commitBehind(topic, partition, () => this.commitDeferred(topic, partition, generation));
        return;
      }
      case 'never-commit':
        await this.publishAcked(topic, partition, outcome);
        return;
    }
  }

  private contextHost(payload: EachBatchPayload, topic: string, partition: number, generation: number): KafkaBatchContextHost {
    return {
      groupId: this.options.groupId,
      consumerName: this.options.consumerName,
      heartbeat: () => payload.heartbeat(),
      isStale: () => payload.isStale(),
      durability: () => this.durabilityReporter(topic, partition, generation),
      deadLetter: (message, failure) => this.sendDeadLetters(topic, partition, [{ message, failure }]),
    };
  }

  /**
   * Heartbeats while the handler runs, so a long batch keeps its partitions; but only up to
   * `maxBatchMs`: an instance stuck on a hung sink must leave the group so others take over.
   */
  private heartbeat(payload: EachBatchPayload, key: string): NodeJS.Timeout {
    const limit = this.options.maxBatchMs ?? 60000;
    const since = Date.now();
    const beat: NodeJS.Timeout = setInterval(() => {
      if (Date.now() - since > limit) {
        clearInterval(beat);
        this.log.error(`batch of ${key} has run for over ${limit} ms; no more heartbeats, so the group can move its partitions`);
        return;
      }
      payload.heartbeat().catch(() => undefined);
    }, 1000);
    return beat;
  }

  /** Records and dead letters acknowledged by every in-sync replica (`ack-then-commit`, `deferred`). */
  private async publishAcked(topic: string, partition: number, outcome: BatchResult): Promise<void> {
    const publish = outcome.publish ?? [];
    if (publish.length === 0 && (outcome.deadLetters ?? []).length === 0) return;
    const sender = this.sender('this transport has no producer to publish with');
    await Promise.all([
      ...publish.map((p) => sender.send(p.topic.name, publicationMessages(p))),
      this.sendDeadLetters(topic, partition, outcome.deadLetters ?? []),
    ]);
  }

  /** Batches of several partitions handled at once share the plain producer's requests. */
  private sender(missing: string): SendCoalescer {
    const producer = this.options.deadLetter?.producer;
    if (!producer) throw new Error(missing);
    this.coalescer ??= new SendCoalescer(producer);
    return this.coalescer;
  }

  /**
   * `transaction` mode, before a batch: the partition's progress, resynchronised when the batch
   * does not follow our own last commit (delivery.ts, rule 3). A new producer for the partition's
   * transactional id waits until the broker has finished any transaction of that id; the group's
   * committed offset, read stable (KIP-447, OffsetFetch v7 in the kafkajs patch), then says what
   * is already done.
   */
  private async transactionalPartition(key: string, firstOffset: string | null): Promise<{ progress: TransactionalProgress }> {
    let state = this.transactional.get(key);
    if (!state) {
      state = { progress: new TransactionalProgress() };
      this.transactional.set(key, state);
    }
    if (firstOffset !== null && !state.progress.inDoubt(BigInt(firstOffset))) return state;
    await this.discardProducer(state);
    await this.transactionalProducer(key, state);
    const [topic, partition] = splitKey(key);
    if (!this.admin) throw new Error('the transport has no admin client');
    const admin = this.admin;
    const read = async (): Promise<bigint | typeof UNSTABLE> => {
      try {
        const [committed] = await admin.fetchOffsets({
          groupId: this.options.groupId,
          topics: [{ topic, partitions: [partition] }],
          requireStable: true,
        });
        return BigInt(committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
      } catch (error) {
        if ((error as { type?: unknown }).type === 'UNSTABLE_OFFSET_COMMIT') return UNSTABLE;
        throw error;
      }
    };
    const ours = state.progress.committedByUs;
    const reading = await committedAfterOurs(read, ours, { limitMs: STABLE_OFFSET_WAIT_MS, unstableMs: HANGING_AFTER_MS });
    if ('hanging' in reading) {
      const sent = state.progress.commitSent;
      if (sent === undefined)
        throw new HangingTransactionError(
          `${key}: the group's committed offset stays held by a transaction the broker completed without writing its markers, ` +
            `and not one this instance sent: kafka-transactions.sh find-hanging shows it, and abort ends it`,
        );
      this.log.warn(
        `${key}: the group's committed offset stays held by our transaction ending at ${sent}, which the broker completed without ` +
          `writing its markers: continuing after it; our next commit writes the markers that commit it whole`,
      );
      this.metrics?.hangingTransactions.inc();
      state.progress.resynced(sent);
      return state;
    }
    if (!reading.caughtUp)
      this.log.warn(
        `${key}: the group's committed offset stays at ${reading.offset}, below ${String(ours)} that our last transaction committed: taken as a reset`,
      );
    state.progress.resynced(reading.offset);
    return state;
  }

  private transactionalProducer(key: string, state: { progress: TransactionalProgress; producer?: Promise<Producer> }): Promise<Producer> {
    if (!state.producer) {
      const prefix = this.options.transactionalIdPrefix ?? this.options.groupId;
      const [topic, partition] = splitKey(key);
      const created = createTransactionalProducer(this.options.kafka, `${prefix}-${topic}-${partition}`);
      // InitProducerId now, not at the first transaction: the resync relies on it having waited
      // for any transaction of the id to finish.
      const connected = connectTransactional(created).then(({ producerId, producerEpoch }) => {
        state.progress.initialised(producerId, producerEpoch);
        return created;
      });
      connected.catch(() => {
        if (state.producer === connected) state.producer = undefined;
      });
      state.producer = connected;
    }
    return state.producer;
  }

  private async discardProducer(state: { producer?: Promise<Producer> }): Promise<void> {
    const producer = state.producer;
    state.producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  /** One transaction: the records, the dead letters and the input offset after `lastOffset`. */
  private async publishInTransaction(
    payload: EachBatchPayload,
    state: { progress: TransactionalProgress; producer?: Promise<Producer> },
    outcome: BatchResult,
    lastOffset: bigint,
  ): Promise<void> {
    const { topic, partition } = payload.batch;
    const producer = await this.transactionalProducer(`${topic}/${partition}`, state);
    const transaction = await producer.transaction();
    let commitSent = false;
    try {
      for (const p of outcome.publish ?? []) await sendRaw(transaction, p.topic, publicationMessages(p));
      const refusals = outcome.deadLetters ?? [];
      if (refusals.length > 0) {
        if (!this.options.deadLetter) throw new Error('this transport has no dead-letter topic');
        await sendRaw(transaction, this.options.deadLetter.topic, this.deadLetterMessages(topic, partition, refusals));
      }
      await transaction.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [{ topic, partitions: [{ partition, offset: (lastOffset + 1n).toString() }] }],
      });
      // A partition revoked while the batch ran belongs to someone else now: its work must not commit.
      if (payload.isStale()) throw new Error(`partition ${topic}/${partition} was revoked during the batch`);
      state.progress.committing(lastOffset);
      commitSent = true;
      await transaction.commit();
      state.progress.committed(lastOffset);
      this.lastCommitted.set(`${topic}/${partition}`, lastOffset + 1n);
      this.metrics?.transactions.inc({ outcome: 'committed' });
      this.metrics?.commits.inc({ mode: 'transaction' });
      for (const r of refusals) this.metrics?.deadLettered.inc({ reason: r.failure.reason });
      for (const r of refusals) this.notify((o) => o.deadLettered?.(topic, r.failure.reason));
      this.notify((o) => o.committed?.(topic, partition, (lastOffset + 1n).toString()));
    } catch (error) {
      // The outcome may be unknown (a commit the broker got but never answered): resynchronise.
      state.progress.doubt();
      this.metrics?.transactions.inc({ outcome: commitSent ? 'unknown' : 'aborted' });
      // A commit that was sent is not followed by an abort: the next InitProducerId lets the
      // broker finish it whichever way it decided, and the resync reads which.
      if (!commitSent) await transaction.abort().catch(() => undefined);
      // A fenced or broken producer cannot be reused; the next batch gets a new one.
      await this.discardProducer(state);
      throw error;
    }
  }

  /** Offsets up to `lastOffset` held only transaction markers (delivery.ts, rule 4). */
  private markersOnly(topic: string, partition: number, lastOffset: bigint): void {
    const key = `${topic}/${partition}`;
    const generation = this.generation;
    if (this.mode === 'never-commit') return;
    if (this.mode === 'deferred') {
      this.deferredProgress(key, generation).markersOnly(lastOffset);
      void this.commitDeferred(topic, partition, generation).catch(() => undefined);
      return;
    }
    const transactional = this.transactional.get(key);
    if (transactional) transactional.progress.done(lastOffset);
    // The batch before may still be waiting for its acknowledgement: commit past the markers only
    // once it has it, and not at all if its send failed and the partition was sent back.
    const rewinds = this.rewinds.get(key) ?? 0;
    void (this.inFlight.get(key) ?? Promise.resolve())
      .then(() => {
        if ((this.rewinds.get(key) ?? 0) !== rewinds) return undefined;
        return this.committer(topic, partition, generation)((lastOffset + 1n).toString());
      })
      .catch(() => undefined);
  }

  private deferredProgress(key: string, generation: number): DeferredProgress {
    let state = this.deferred.get(key);
    // After a rejoin kafkajs fetches from the committed offset again: what was taken before is forgotten.
    if (!state || state.generation !== generation) {
      state = { generation, progress: new DeferredProgress() };
      this.deferred.set(key, state);
    }
    return state.progress;
  }

  private durabilityReporter(topic: string, partition: number, generation: number): DurabilityReporter {
    return async (nextOffset: bigint) => {
      if (!this.owns(topic, partition, generation)) {
        this.refuseCommit(topic, partition, generation);
        return;
      }
      this.deferredProgress(`${topic}/${partition}`, generation).report(nextOffset);
      await this.commitDeferred(topic, partition, generation);
    };
  }

  private async commitDeferred(topic: string, partition: number, generation: number): Promise<void> {
    const offset = this.deferred.get(`${topic}/${partition}`)?.progress.committable();
    if (offset === undefined || !this.owns(topic, partition, generation)) return;
    await this.committer(topic, partition, generation)(offset.toString());
  }

  /**
   * Commits once the batch is resolved, so the next fetch does not wait for the round trip
   * (delivery.ts, rule 3: what it commits is acknowledged or durable already). A partition's
   * commits still run one after another and only move forward (`committer`); one that fails is
   * logged and counted, and the partition's next commit covers it. While the transport closes,
   * the batch waits for its commit, and `close` waits for those still running before the
   * consumer leaves the group.
   */
  private commitBehind(topic: string, partition: number, commit: () => Promise<unknown>): Promise<void> {
    const running = commit().then(
      () => undefined,
      (error: unknown) => {
        this.metrics?.commitFailures.inc();
        this.log.warn(
          `commit of ${topic}/${partition} failed; the partition's next commit covers it: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
    if (this.closing) return running;
    this.commitsBehind.add(running);
    void running.then(() => this.commitsBehind.delete(running));
    return Promise.resolve();
  }

  private async commitIfOwned(payload: EachBatchPayload, generation: number, nextOffset: bigint): Promise<void> {
    const { topic, partition } = payload.batch;
    if (payload.isStale()) {
      this.refuseCommit(topic, partition, generation);
      return;
    }
    await this.committer(topic, partition, generation)(nextOffset.toString());
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
          this.refuseCommit(topic, partition, generation);
          return false;
        }
        const offset = BigInt(nextOffset);
        if (offset <= current.offset) return true;
        // Later commits of the partition wait for this one: one that stays unanswered is said.
        const slow = setTimeout(() => {
          this.log.warn(
            `commit of ${key} at ${nextOffset} unanswered for ${SLOW_COMMIT_MS} ms; later commits of the partition wait for it`,
          );
        }, SLOW_COMMIT_MS);
        try {
          await this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
        } finally {
          clearTimeout(slow);
        }
        current.offset = offset;
        this.lastCommitted.set(key, offset);
        this.metrics?.commits.inc({ mode: 'consumer' });
        this.notify((o) => o.committed?.(topic, partition, nextOffset));
        return true;
      });
      current.chain = attempt.catch(() => undefined);
      return attempt;
    };
  }

  /**
   * A commit not made: the partition is not this instance's in the generation the commit belongs
   * to. Counted each time; said once a partition and generation, with where the transport stands,
   * since a partition that is consumed but never committed shows only as lag.
   */
  private refuseCommit(topic: string, partition: number, generation: number): void {
    this.metrics?.commitsRefused.inc();
    this.notify((o) => o.commitRefused?.(topic, partition));
    const key = `${topic}/${partition}@${generation}`;
    if (this.refusalsSaid.has(key)) return;
    if (this.refusalsSaid.size >= 1000) this.refusalsSaid.clear();
    this.refusalsSaid.add(key);
    const owned = this.assigned.get(topic)?.has(partition) ?? false;
    this.log.warn(
      `commit of ${topic}/${partition} from generation ${generation} not made: the transport is at generation ${this.generation}, ` +
        `and the partition is ${owned ? '' : 'not '}assigned to it`,
    );
  }

  private deadLetterMessages(topic: string, partition: number, refusals: readonly Refusal[]): Message[] {
    return refusals.map((r) => deadLetterMessage({ topic, partition, message: r.message }, r.failure, this.options.consumerName));
  }

  private async sendDeadLetters(topic: string, partition: number, refusals: readonly Refusal[]): Promise<void> {
    if (refusals.length === 0) return;
    const target = this.options.deadLetter;
    if (!target) throw new Error('this transport has no dead-letter producer');
    await this.sender('this transport has no dead-letter producer').send(
      target.topic.name,
      this.deadLetterMessages(topic, partition, refusals),
    );
    for (const r of refusals) {
      this.metrics?.deadLettered.inc({ reason: r.failure.reason });
      this.notify((o) => o.deadLettered?.(topic, r.failure.reason));
    }
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
    const line = `batch ${key}@${payload.batch.firstOffset()} ${error instanceof BatchDeclined ? 'declined' : 'failed'} (attempt ${attempt}), retrying in ${delay} ms: ${reason}`;
    if (error instanceof BatchDeclined) this.log.debug?.(line);
    else this.log.warn(line);
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

  /** Drains: kafkajs waits for running batches before it leaves the group; then the producers go. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    await Promise.all(this.inFlight.values());
    await Promise.all(this.commitsBehind);
    await this.consumer?.disconnect();
    this.consumer = undefined;
    await Promise.all([...this.transactional.values()].map((state) => this.discardProducer(state)));
    await this.admin?.disconnect();
    this.admin = undefined;
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('/');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
