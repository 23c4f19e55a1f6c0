import { DynamicModule, Module } from '@nestjs/common';
import {
  batchTransportProvider,
  createSafeProducer,
  KafkaModule,
  managedProducerProvider,
  ObservabilityModule,
  OutputTopic,
} from '@weblog/kafka-common';
import { ArchiveStore, createS3Client } from '@weblog/s3-archive';
import { ArchiverConsumer } from './archive/archiver.consumer';
import { ArchiverMetrics } from './archive/archiver.metrics';
import { ArchiverService, UPLOAD_RETRY } from './archive/archiver.service';
import { ArchiverEnv } from './archiver.env';
import { ARCHIVE_STORE, ARCHIVER_ENV, ARCHIVER_PRODUCER, ARCHIVER_TRANSPORT } from './archiver.tokens';

@Module({})
export class AppModule {
  static register(env: ArchiverEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 's3-archiver', env }), ObservabilityModule.forRoot({ service: 'archiver' })],
      controllers: [ArchiverConsumer],
      providers: [
        { provide: ARCHIVER_ENV, useValue: env },
        {
          provide: ARCHIVE_STORE,
          useFactory: () =>
            new ArchiveStore(createS3Client(env), env.S3_BUCKET, {
              ...(env.ARCHIVER_SSE ? { algorithm: env.ARCHIVER_SSE } : {}),
              ...(env.ARCHIVER_SSE_KMS_KEY_ID ? { kmsKeyId: env.ARCHIVER_SSE_KMS_KEY_ID } : {}),
            }),
        },
        managedProducerProvider(ARCHIVER_PRODUCER, (kafka) => createSafeProducer(kafka)),
        ArchiverMetrics,
        ArchiverService,
        batchTransportProvider(ARCHIVER_TRANSPORT, {
          groupId: env.ARCHIVER_GROUP_ID,
          consumerName: 's3-archiver',
          subscribe: (topics) => [{ key: OutputTopic.key, topic: topics.output.name }],
          deadLetterProducer: ARCHIVER_PRODUCER,
          partitionsConsumedConcurrently: env.ARCHIVER_CONCURRENCY,
          retry: UPLOAD_RETRY,
          delivery: 'deferred',
          observers: [ArchiverService],
        }),
      ],
    };
  }
}
