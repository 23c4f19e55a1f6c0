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
import { AuditService } from './audit/audit.service';
import { ReportController } from './verification/report.controller';
import { VerifierConsumer } from './verification/verifier.consumer';
import { VerifierService } from './verification/verifier.service';
import { VerifierEnv } from './verifier.env';
import { VERIFIER_ENV, VERIFIER_PRODUCER, VERIFIER_STORE, VERIFIER_TRANSPORT } from './verifier.tokens';

@Module({})
export class AppModule {
  static register(env: VerifierEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [KafkaModule.forRoot({ clientId: 'verifier', env }), ObservabilityModule.forRoot({ service: 'verifier' })],
      controllers: [ReportController, VerifierConsumer],
      providers: [
        { provide: VERIFIER_ENV, useValue: env },
        { provide: VERIFIER_STORE, useFactory: () => new ArchiveStore(createS3Client(env), env.S3_BUCKET) },
        managedProducerProvider(VERIFIER_PRODUCER, (kafka) => createSafeProducer(kafka)),
        AuditService,
        VerifierService,
        batchTransportProvider(VERIFIER_TRANSPORT, {
          groupId: env.VERIFIER_GROUP_ID,
          consumerName: 'verifier',
          subscribe: (topics) => [{ key: OutputTopic.key, topic: topics.output.name }],
          deadLetterProducer: VERIFIER_PRODUCER,
          readCommitted: true,
          // Its accounting lives in memory, so every start rebuilds it from the whole output topic:
          // a restarted verifier must not judge a run from the middle.
          fromBeginning: true,
          delivery: 'never-commit',
        }),
      ],
    };
  }
}
