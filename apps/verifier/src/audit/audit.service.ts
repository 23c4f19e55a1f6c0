import { Inject, Injectable, Logger, NotFoundException, OnApplicationBootstrap } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AuditReport, KAFKA_CLIENT, PIPELINE_TOPICS, PipelineTopics, ReadinessRegistry, readTopicToEnd } from '@weblog/kafka-common';
import { ArchiveStore, listArchive, readArchiveObject } from '@weblog/s3-archive';
import { VerifierEnv } from '../verifier.env';
import { VERIFIER_ENV, VERIFIER_STORE } from '../verifier.tokens';
import { ArchiveAudit } from './archive-audit';

/**
 * Reads the output topic to its end and lists the archive, then compares them record by record, by content.
 * Off unless VERIFIER_AUDIT_ENABLED: then the verifier needs no S3 at all.
 */
@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Audit');

  constructor(
    @Inject(VERIFIER_ENV) private readonly env: VerifierEnv,
    @Inject(VERIFIER_STORE) private readonly store: ArchiveStore,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    readiness: ReadinessRegistry,
  ) {
    if (env.VERIFIER_AUDIT_ENABLED) readiness.register('s3', () => this.store.checkBucket());
  }

  onApplicationBootstrap(): void {
    this.logger.log(
      this.env.VERIFIER_AUDIT_ENABLED
        ? 'S3 audit on: POST /audit reads the whole output topic and the archive into memory'
        : 'S3 audit off: POST /audit answers 404 (VERIFIER_AUDIT_ENABLED=true turns it on)',
    );
  }

  async audit(): Promise<AuditReport> {
    if (!this.env.VERIFIER_AUDIT_ENABLED) {
      throw new NotFoundException('the S3 audit is off: start the verifier with VERIFIER_AUDIT_ENABLED=true');
    }
    const audit = new ArchiveAudit();
    await readTopicToEnd(this.kafka, this.topics.output.name, (partition, message) => audit.addTopicRecord(partition, message));
    for (const objects of (await listArchive(this.store, this.env.VERIFIER_ARCHIVE_TOPICS_DIR, this.topics.output.name)).values()) {
      for (const object of objects) {
        const { records, problems } = await readArchiveObject(this.store, object);
        audit.addProblems(problems.length);
        audit.addArchivedObject(object, records);
      }
    }
    return audit.report();
  }
}
