import { DynamicModule, FactoryProvider, Logger, Module, Provider } from '@nestjs/common';
import {
  batchTransportProvider,
  ConfigError,
  createSafeProducer,
  KafkaModule,
  managedProducerProvider,
  MetricsService,
  ObservabilityModule,
  OutputTopic,
} from '@weblog/kafka-common';
import { ArchiveStore, createS3Client } from '@weblog/s3-archive';
import { ArchiverConsumer } from './archive/archiver.consumer';
import { ArchiverMetrics } from './archive/archiver.metrics';
import { ArchiverService, UPLOAD_RETRY } from './archive/archiver.service';
import { ArchiverEnv } from './archiver.env';
import { ARCHIVE_STORE, ARCHIVER_ENV, ARCHIVER_PRODUCER, ARCHIVER_TRANSPORT } from './archiver.tokens';

const UNCONDITIONAL = 'ARCHIVER_ALLOW_UNCONDITIONAL_WRITES';

/**
 * Exactly-once in S3 rests on `If-None-Match: *`; a store that ignores it turns a repeated upload
 * into an overwrite. Probed while the store is created, before anything connects to Kafka: such a
 * store stops the archiver unless the weaker guarantee is accepted. When S3 does not answer at
 * start, the first upload probes again and nothing is written before it answers.
 */
async function checkConditionalWrites(store: ArchiveStore, env: ArchiverEnv, logger: Logger): Promise<void> {
  const dir = env.ARCHIVER_TOPICS_DIR.replace(/\/+$/, '');
  const allowed = env.ARCHIVER_ALLOW_UNCONDITIONAL_WRITES;
  let honoured: boolean;
  try {
    honoured = await store.requireConditionalWrites(dir.length > 0 ? `${dir}/` : '', allowed, UNCONDITIONAL);
  } catch (error) {
    logger.warn(
      `could not probe S3 for conditional writes at start (${error instanceof Error ? error.message : String(error)}); the first upload probes again`,
    );
    return;
  }
  if (honoured) return;
  if (allowed) {
    logger.warn(`the S3 store ignores If-None-Match: a repeated upload overwrites instead of finding the object (${UNCONDITIONAL}=true)`);
    return;
  }
  const error = new ConfigError(
    UNCONDITIONAL,
    'must be true to archive to an S3 store that ignores If-None-Match (the start-up probe overwrote its own object), which turns exactly-once into overwrites',
  );
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

/**
 * The producer connects to Kafka while it is created; made to wait for the store (and its probe),
 * a refused start says its one line and nothing else.
 */
function afterStore(provider: Provider): Provider {
  const factory = provider as FactoryProvider;
  return { ...factory, inject: [...(factory.inject ?? []), ARCHIVE_STORE] };
}

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
          inject: [MetricsService],
          useFactory: async (metrics: MetricsService) => {
            const mismatches = metrics.counter({
              name: 'incarnation_mismatches_total',
              help: 'Keys that held other records than the ones to write (the topic was recreated); those went under the next generation.',
            });
            const logger = new Logger('ArchiveStore');
            const store = new ArchiveStore(
              createS3Client(env),
              env.S3_BUCKET,
              {
                ...(env.ARCHIVER_SSE ? { algorithm: env.ARCHIVER_SSE } : {}),
                ...(env.ARCHIVER_SSE_KMS_KEY_ID ? { kmsKeyId: env.ARCHIVER_SSE_KMS_KEY_ID } : {}),
              },
              {
                onIncarnationMismatch: (mismatch) => {
                  mismatches.inc();
                  logger.warn(
                    `${mismatch.key} holds other records than ${mismatch.topic}/${mismatch.partition} from offset ${mismatch.firstOffset}: the topic was recreated; writing generation ${mismatch.generation}`,
                  );
                },
              },
            );
            await checkConditionalWrites(store, env, logger);
            return store;
          },
        },
        afterStore(managedProducerProvider(ARCHIVER_PRODUCER, (kafka) => createSafeProducer(kafka))),
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
