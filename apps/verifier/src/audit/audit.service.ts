import { Inject, Injectable } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AuditReport, KAFKA_CLIENT, PIPELINE_TOPICS, PipelineTopics, ReadinessRegistry, readTopicToEnd } from '@weblog/kafka-common';
import { ArchiveStore, listArchive, readArchiveObject } from '@weblog/s3-archive';
import { VerifierEnv } from '../verifier.env';
import { VERIFIER_ENV, VERIFIER_STORE } from '../verifier.tokens';
import { ArchiveAudit } from './archive-audit';

/** Lists the archive and reads the output topic to its end, then compares them record by record. */
@Injectable()
export class AuditService {
  constructor(
    @Inject(VERIFIER_ENV) private readonly env: VerifierEnv,
    @Inject(VERIFIER_STORE) private readonly store: ArchiveStore,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    readiness: ReadinessRegistry,
  ) {
    readiness.register('s3', () => this.store.checkBucket());
  }

  async audit(): Promise<AuditReport> {
    const audit = new ArchiveAudit();
    await readTopicToEnd(this.kafka, this.topics.output.name, (partition, message) => audit.addTopicRecord(partition, message));
    for (const objects of (await listArchive(this.store, this.env.VERIFIER_ARCHIVE_TOPICS_DIR, this.topics.output.name)).values()) {
      for (const object of objects) {
        const { records, problems } = await readArchiveObject(this.store, object);
        audit.addProblems(problems.length);
        for (const record of records) audit.addArchivedRecord(record);
      }
    }
    return audit.report();
  }
}
