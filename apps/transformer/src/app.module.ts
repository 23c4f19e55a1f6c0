import { DynamicModule, Module } from '@nestjs/common';
import {
  batchTransportProvider,
  BOUNDED_PRODUCER_RETRY,
  createSafeProducer,
  InputTopic,
  KafkaModule,
  managedProducerProvider,
  ObservabilityModule,
} from '@weblog/kafka-common';
import { TransformerConsumer } from './transform/transformer.consumer';
import { TransformerMetrics } from './transform/transformer.metrics';
import { TransformerService } from './transform/transformer.service';
import { TransformerEnv } from './transformer.env';
import { TRANSFORMER_ENV, TRANSFORMER_PRODUCER, TRANSFORMER_TRANSPORT } from './transformer.tokens';

@Module({})
export class AppModule {
  static register(env: TransformerEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'transformer', env }), ObservabilityModule.forRoot({ service: 'transformer' })],
      controllers: [TransformerConsumer],
      providers: [
        { provide: TRANSFORMER_ENV, useValue: env },
        managedProducerProvider(TRANSFORMER_PRODUCER, (kafka) => createSafeProducer(kafka, { retry: BOUNDED_PRODUCER_RETRY })),
        TransformerMetrics,
        TransformerService,
        batchTransportProvider(TRANSFORMER_TRANSPORT, {
          groupId: env.TRANSFORMER_GROUP_ID,
          consumerName: 'transformer',
          subscribe: (topics) => [{ key: InputTopic.key, topic: topics.input.name }],
          deadLetterProducer: TRANSFORMER_PRODUCER,
          partitionsConsumedConcurrently: env.TRANSFORMER_CONCURRENCY,
          delivery: env.TRANSFORMER_MODE === 'exactly-once' ? 'transaction' : 'ack-then-commit',
          transactionalIdPrefix: env.TRANSFORMER_TRANSACTIONAL_ID_PREFIX,
          observers: [TransformerMetrics],
        }),
      ],
    };
  }
}
