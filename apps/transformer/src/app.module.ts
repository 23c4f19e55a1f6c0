import { DynamicModule, Logger, Module } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import {
  createSafeProducer,
  InputTopic,
  KAFKA_CLIENT,
  KafkaBatchTransport,
  KafkaModule,
  ManagedProducer,
  managedProducerProvider,
  ObservabilityModule,
  PIPELINE_TOPICS,
  PipelineTopics,
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
        managedProducerProvider(TRANSFORMER_PRODUCER, (kafka) => createSafeProducer(kafka)),
        TransformerMetrics,
        TransformerService,
        {
          provide: TRANSFORMER_TRANSPORT,
          inject: [KAFKA_CLIENT, PIPELINE_TOPICS, TRANSFORMER_PRODUCER, TransformerMetrics],
          useFactory: (kafka: Kafka, topics: PipelineTopics, producer: ManagedProducer, metrics: TransformerMetrics) =>
            new KafkaBatchTransport({
              kafka,
              groupId: env.TRANSFORMER_GROUP_ID,
              consumerName: 'transformer',
              subscriptions: [{ key: InputTopic.key, topic: topics.input.name }],
              deadLetter: { producer: producer.producer, topic: topics.deadLetter },
              partitionsConsumedConcurrently: env.TRANSFORMER_CONCURRENCY,
              observers: [metrics],
              logger: new Logger(KafkaBatchTransport.name),
            }),
        },
      ],
    };
  }
}
