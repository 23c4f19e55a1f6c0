import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Admin, Kafka, KafkaMessage, Producer } from 'kafkajs';
import {
  BatchOutcome,
  BatchOutcomes,
  createTransactionalProducer,
  KAFKA_CLIENT,
  KafkaBatch,
  KafkaBatchContext,
  ManagedProducer,
  PIPELINE_TOPICS,
  PipelineTopics,
  sendRaw,
  sendRecords,
} from '@weblog/kafka-common';
import { TransformerEnv } from '../transformer.env';
import { TRANSFORMER_ENV, TRANSFORMER_PRODUCER } from '../transformer.tokens';
import { transformBatch, TransformedBatch, TransformOptions } from './transform-batch';
import { TransformerMetrics } from './transformer.metrics';

/**
 * Upper-cases a batch of one input partition and publishes it.
 *
 * at-least-once: outputs and dead letters are sent with acks=all; the transport commits the
 * input offsets only after that. A crash in between resends, never loses.
 *
 * exactly-once: one transaction per batch holds the outputs, the dead letters and the input
 * offsets. Each input partition has its own transactional id, so a new owner of the partition
 * fences the old one (kafkajs has no KIP-447 group fencing).
 */
@Injectable()
export class TransformerService implements OnApplicationShutdown {
  private readonly logger = new Logger(TransformerService.name);
  private readonly transactional = new Map<string, Promise<Producer>>();
  /** Per transactional id: the input offset after the last batch this process committed. */
  private readonly nextOffset = new Map<string, bigint>();
  private adminClient?: Promise<Admin>;
  private readonly options: TransformOptions;

  constructor(
    @Inject(TRANSFORMER_ENV) private readonly env: TransformerEnv,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    @Inject(TRANSFORMER_PRODUCER) private readonly producer: ManagedProducer,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly metrics: TransformerMetrics,
  ) {
    this.options = { maxBytes: env.TRANSFORMER_MAX_VALUE_BYTES, timeZone: env.TRANSFORMER_TIMEZONE };
  }

  async process(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<BatchOutcome> {
    if (this.env.TRANSFORMER_MODE === 'exactly-once') {
      const id = `${this.env.TRANSFORMER_TRANSACTIONAL_ID_PREFIX}-${batch.topic}-${batch.partition}`;
      const pending = await this.notYetCommitted(id, batch, ctx);
      const result = transformBatch(batch, pending, Date.now(), this.options);
      if (pending.length > 0) await this.publishInTransaction(id, batch, ctx, result);
      else this.nextOffset.set(id, BigInt(batch.lastOffset) + 1n);
      this.count(result);
      return BatchOutcomes.committedByHandler;
    }
    const result = transformBatch(batch, batch.messages, Date.now(), this.options);
    await Promise.all([
      sendRecords(this.producer.producer, this.topics.output, result.outputs),
      sendRaw(
        this.producer.producer,
        this.topics.deadLetter,
        result.rejected.map((r) => ctx.deadLetterMessage(r.message, r.failure)),
      ),
    ]);
    this.count(result);
    return BatchOutcomes.commitBatch;
  }

  /**
   * The records of the batch that no transaction has committed yet. A transaction whose commit
   * failed on our side (the broker died while answering) may still have committed on the broker,
   * and kafkajs fetches the same records again: processing them again would duplicate them. So
   * whenever this partition's position is not the one our last commit left (after a failure, a
   * rebalance, or at start), a new producer is initialised first, which waits until the broker
   * has finished any transaction of this id, and the group's committed offset then says what is
   * already done. (KIP-447's stable offset fetch, which kafkajs lacks.)
   */
  private async notYetCommitted(id: string, batch: KafkaBatch, ctx: KafkaBatchContext): Promise<readonly KafkaMessage[]> {
    if (this.nextOffset.get(id) === BigInt(batch.firstOffset)) return batch.messages;
    await this.discardProducer(id);
    await this.transactionalProducer(id);
    const admin = await this.admin();
    const [committed] = await admin.fetchOffsets({ groupId: ctx.groupId, topics: [batch.topic] });
    const offset = BigInt(committed?.partitions.find((p) => p.partition === batch.partition)?.offset ?? '-1');
    const pending = batch.messages.filter((m) => BigInt(m.offset) >= offset);
    if (pending.length < batch.messages.length) {
      this.logger.warn(
        `${batch.topic}/${batch.partition}: ${batch.messages.length - pending.length} records below the committed offset ${offset} were already transformed by a transaction that committed; skipped`,
      );
    }
    return pending;
  }

  private admin(): Promise<Admin> {
    this.adminClient ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.adminClient = undefined;
      throw error;
    });
    return this.adminClient;
  }

  private async discardProducer(id: string): Promise<void> {
    const producer = this.transactional.get(id);
    this.transactional.delete(id);
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private async publishInTransaction(id: string, batch: KafkaBatch, ctx: KafkaBatchContext, result: TransformedBatch): Promise<void> {
    const producer = await this.transactionalProducer(id);
    const transaction = await producer.transaction();
    try {
      await sendRecords(transaction, this.topics.output, result.outputs);
      await sendRaw(
        transaction,
        this.topics.deadLetter,
        result.rejected.map((r) => ctx.deadLetterMessage(r.message, r.failure)),
      );
      await transaction.sendOffsets({
        consumerGroupId: ctx.groupId,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(batch.lastOffset) + 1n).toString() }] }],
      });
      // A partition revoked while the batch ran belongs to someone else now: its work must not commit.
      if (ctx.isStale()) throw new Error(`partition ${batch.topic}/${batch.partition} was revoked during the batch`);
      await transaction.commit();
      this.nextOffset.set(id, BigInt(batch.lastOffset) + 1n);
      this.metrics.transactions.inc({ outcome: 'committed' });
      this.metrics.commits.inc({ mode: 'transaction' });
    } catch (error) {
      // The outcome may be unknown (a commit the broker got but never answered): resynchronise.
      this.nextOffset.delete(id);
      this.metrics.transactions.inc({ outcome: 'aborted' });
      await transaction.abort().catch(() => undefined);
      // A fenced or broken producer cannot be reused; the next batch gets a new one.
      this.transactional.delete(id);
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private transactionalProducer(id: string): Promise<Producer> {
    let producer = this.transactional.get(id);
    if (!producer) {
      const created = createTransactionalProducer(this.kafka, id);
      producer = created.connect().then(() => created);
      producer.catch(() => this.transactional.delete(id));
      this.transactional.set(id, producer);
    }
    return producer;
  }

  private count(result: TransformedBatch): void {
    this.metrics.transformed.inc(result.outputs.length);
    for (const { failure } of result.rejected) this.metrics.deadLetteredRecords.inc({ reason: failure.reason });
    if (result.rejected.length > 0)
      this.logger.warn(
        `${result.rejected.length} records dead-lettered (${[...new Set(result.rejected.map((r) => r.failure.reason))].join(', ')})`,
      );
  }

  async onApplicationShutdown(): Promise<void> {
    const producers = await Promise.allSettled(this.transactional.values());
    await Promise.all(producers.flatMap((p) => (p.status === 'fulfilled' ? [p.value.disconnect()] : [])));
    this.transactional.clear();
    await this.adminClient?.then((admin) => admin.disconnect()).catch(() => undefined);
  }
}
