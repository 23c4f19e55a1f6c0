import { InjectionToken, Logger, Provider } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { KAFKA_CLIENT, ManagedProducer, PIPELINE_TOPICS } from '../kafka/kafka.module';
import { PipelineTopics } from '../kafka/kafka-client';
import { ReadinessRegistry } from '../health/readiness.registry';
import { MetricsService } from '../metrics/metrics.service';
import { KafkaBatchTransport, KafkaBatchTransportOptions, Subscription, TransportObserver } from './kafka-batch.transport';

export interface BatchTransportProviderOptions
  extends Omit<KafkaBatchTransportOptions, 'kafka' | 'subscriptions' | 'deadLetter' | 'observers' | 'metrics' | 'readiness' | 'logger'> {
  /** The topics to consume, from the pipeline's configured names. */
  readonly subscribe: (topics: PipelineTopics) => Subscription[];
  /** The managed producer that publishes results (`ack-then-commit`) and dead letters. */
  readonly deadLetterProducer: InjectionToken;
  /** Providers that watch batches, commits and assignments (metrics, rebalance handling). */
  readonly observers?: InjectionToken[];
}

/** A Nest provider of a service's batch transport, wired to the shared Kafka client and topics. */
export function batchTransportProvider(token: InjectionToken, options: BatchTransportProviderOptions): Provider {
  const { subscribe, deadLetterProducer, observers = [], ...rest } = options;
  return {
    provide: token,
    inject: [KAFKA_CLIENT, PIPELINE_TOPICS, MetricsService, ReadinessRegistry, deadLetterProducer, ...observers],
    useFactory: (
      kafka: Kafka,
      topics: PipelineTopics,
      metrics: MetricsService,
      readiness: ReadinessRegistry,
      producer: ManagedProducer,
      ...watching: TransportObserver[]
    ) =>
      new KafkaBatchTransport({
        ...rest,
        kafka,
        metrics,
        readiness,
        subscriptions: subscribe(topics),
        deadLetter: { producer: producer.producer, topic: topics.deadLetter },
        observers: watching,
        logger: new Logger(KafkaBatchTransport.name),
      }),
  };
}
