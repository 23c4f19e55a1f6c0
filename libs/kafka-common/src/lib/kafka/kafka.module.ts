import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit, Provider } from '@nestjs/common';
import { Admin, Kafka, Producer } from 'kafkajs';
import { KafkaEnv } from '../config/env';
import { ReadinessRegistry } from '../health/readiness.registry';
import { createKafka, PipelineTopics, pipelineTopics } from './kafka-client';
import { ensureTopics, pipelineTopicSpecs } from './topic-admin';

export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
export const PIPELINE_TOPICS = Symbol('PIPELINE_TOPICS');

export interface KafkaModuleOptions {
  readonly clientId: string;
  readonly env: KafkaEnv;
}

/**
 * Owns the admin connection: creates the pipeline's topics before any consumer subscribes,
 * and answers the readiness check.
 */
@Injectable()
export class KafkaConnection implements OnModuleInit, OnApplicationShutdown {
  private readonly admin: Admin;

  constructor(
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    private readonly readiness: ReadinessRegistry,
  ) {
    this.admin = kafka.admin();
  }

  async onModuleInit(): Promise<void> {
    await this.admin.connect();
    await ensureTopics(this.admin, pipelineTopicSpecs(this.topics));
    this.readiness.register('kafka', async () => {
      await this.admin.describeCluster();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin.disconnect();
  }
}

/**
 * A producer that is connected before the application starts and disconnected last, after the
 * consumers have drained (Nest closes microservices before its shutdown hooks).
 */
export class ManagedProducer implements OnApplicationShutdown {
  constructor(readonly producer: Producer) {}

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}

export function managedProducerProvider(token: symbol, create: (kafka: Kafka) => Producer): Provider {
  return {
    provide: token,
    inject: [KAFKA_CLIENT],
    useFactory: async (kafka: Kafka) => {
      const producer = create(kafka);
      await producer.connect();
      return new ManagedProducer(producer);
    },
  };
}

@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      module: KafkaModule,
      global: true,
      providers: [
        {
          provide: KAFKA_CLIENT,
          useFactory: () => createKafka(options.env, options.clientId, new Logger('kafkajs')),
        },
        { provide: PIPELINE_TOPICS, useValue: pipelineTopics(options.env) },
        KafkaConnection,
      ],
      exports: [KAFKA_CLIENT, PIPELINE_TOPICS],
    };
  }
}
