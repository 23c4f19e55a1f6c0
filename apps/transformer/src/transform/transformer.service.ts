import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
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
import { transformBatch, TransformedBatch } from './transform-batch';
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

  constructor(
    @Inject(TRANSFORMER_ENV) private readonly env: TransformerEnv,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    @Inject(TRANSFORMER_PRODUCER) private readonly producer: ManagedProducer,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly metrics: TransformerMetrics,
  ) {}

  async process(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<BatchOutcome> {
    const result = transformBatch(batch.messages, Date.now(), this.env.TRANSFORMER_MAX_VALUE_BYTES);
    if (this.env.TRANSFORMER_MODE === 'exactly-once') {
      await this.publishInTransaction(batch, ctx, result);
    } else {
      await Promise.all([
        sendRecords(this.producer.producer, this.topics.output, result.outputs),
        sendRaw(
          this.producer.producer,
          this.topics.deadLetter,
          result.rejected.map((r) => ctx.deadLetterMessage(r.message, r.failure)),
        ),
      ]);
    }
    this.count(result);
    return this.env.TRANSFORMER_MODE === 'exactly-once' ? BatchOutcomes.committedByHandler : BatchOutcomes.commitBatch;
  }

  private async publishInTransaction(batch: KafkaBatch, ctx: KafkaBatchContext, result: TransformedBatch): Promise<void> {
    const id = `${this.env.TRANSFORMER_TRANSACTIONAL_ID_PREFIX}-${batch.topic}-${batch.partition}`;
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
      this.metrics.transactions.inc({ outcome: 'committed' });
      this.metrics.commits.inc({ mode: 'transaction' });
    } catch (error) {
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
  }
}
