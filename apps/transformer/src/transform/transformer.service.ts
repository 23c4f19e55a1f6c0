import { Inject, Injectable, Logger } from '@nestjs/common';
import { BatchResult, KafkaBatch, PIPELINE_TOPICS, PipelineTopics, publication } from '@weblog/kafka-common';
import { TransformerEnv } from '../transformer.env';
import { TRANSFORMER_ENV } from '../transformer.tokens';
import { transformBatch, TransformOptions } from './transform-batch';

/**
 * Upper-cases a batch of one input partition. What it returns the transport publishes and
 * commits in the configured mode: acknowledged then committed (at-least-once), or in one
 * transaction with the input offsets (exactly-once); see the library's delivery rules.
 */
@Injectable()
export class TransformerService {
  private readonly logger = new Logger(TransformerService.name);
  private readonly options: TransformOptions;

  constructor(
    @Inject(TRANSFORMER_ENV) env: TransformerEnv,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
  ) {
    this.options = { maxBytes: env.TRANSFORMER_MAX_VALUE_BYTES, timeZone: env.TRANSFORMER_TIMEZONE };
  }

  process(batch: KafkaBatch): BatchResult {
    const { outputs, rejected } = transformBatch(batch, batch.messages, Date.now(), this.options);
    if (rejected.length > 0)
      this.logger.warn(`${rejected.length} records dead-lettered (${[...new Set(rejected.map((r) => r.failure.reason))].join(', ')})`);
    return { publish: [publication(this.topics.output, outputs)], deadLetters: rejected };
  }
}
