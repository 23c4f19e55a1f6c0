import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  BatchResult,
  encodedPublication,
  KafkaBatch,
  PIPELINE_TOPICS,
  PipelineTopics,
  Publication,
  publication,
} from '@weblog/kafka-common';
import { TransformerEnv } from '../transformer.env';
import { TRANSFORMER_ENV } from '../transformer.tokens';
import { Rejected, transformBatch, TransformOptions } from './transform-batch';
import { TransformerMetrics } from './transformer.metrics';
import { unpackReply } from './transform-job';
import { TransformThreads } from './transform-threads';

/**
 * Upper-cases a batch of one input partition. What it returns the transport publishes and
 * commits in the configured mode: acknowledged then committed (at-least-once), or in one
 * transaction with the input offsets (exactly-once); see the library's delivery rules. With
 * `TRANSFORMER_THREADS` above 0 the records of a batch of `TRANSFORMER_THREAD_MIN_BATCH` or more
 * are decoded, checked, upper-cased and encoded in threads beside the main one, which keeps to
 * Kafka's requests: one process uses two cores. Smaller batches stay on the main thread: a few
 * records are less work than the hop there and back, whose wait for a core shows in the latency
 * tail of a pipeline at a few thousand records a second. A thread starts with the first batch
 * that needs it.
 */
@Injectable()
export class TransformerService implements OnModuleDestroy {
  private readonly logger = new Logger(TransformerService.name);
  private readonly options: TransformOptions;
  private readonly threads: TransformThreads | undefined;
  private readonly threadMinBatch: number;

  constructor(
    @Inject(TRANSFORMER_ENV) env: TransformerEnv,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    private readonly metrics: TransformerMetrics,
  ) {
    this.options = { maxBytes: env.TRANSFORMER_MAX_VALUE_BYTES, timeZone: env.TRANSFORMER_TIMEZONE };
    this.threadMinBatch = env.TRANSFORMER_THREAD_MIN_BATCH;
    this.threads =
      env.TRANSFORMER_THREADS > 0
        ? new TransformThreads(env.TRANSFORMER_THREADS, this.options, (message) => this.logger.error(message))
        : undefined;
    metrics.watchThreads(() => this.threads?.running ?? 0);
  }

  process(batch: KafkaBatch): BatchResult | Promise<BatchResult> {
    const transformedAt = Date.now();
    if (!this.threads || batch.messages.length < this.threadMinBatch) {
      const { outputs, rejected } = transformBatch(batch, batch.messages, transformedAt, this.options);
      this.metrics.batchesByPath.inc({ path: 'main' });
      return this.result(publication(this.topics.output, outputs), rejected);
    }
    return this.threads.run(batch, batch.messages).then((reply) => {
      const { outputs, rejected } = unpackReply(reply, batch.messages, transformedAt);
      this.metrics.batchesByPath.inc({ path: 'thread' });
      return this.result(encodedPublication(this.topics.output, outputs), rejected);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.threads?.close();
  }

  private result(outputs: Publication, rejected: Rejected[]): BatchResult {
    if (rejected.length > 0)
      this.logger.warn(`${rejected.length} records dead-lettered (${[...new Set(rejected.map((r) => r.failure.reason))].join(', ')})`);
    return { publish: [outputs], deadLetters: rejected };
  }
}
