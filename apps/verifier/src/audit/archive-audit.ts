import { KafkaMessage } from 'kafkajs';
import { AuditReport, decode, TransformedWebLogContract } from '@weblog/kafka-common';
import { RestoredRecord } from '@weblog/s3-archive';

const EXAMPLES = 50;

/**
 * Bare values (Connect's JsonFormat) carry no offsets, and the positions the reader gives them
 * drift at every gap of the partition, so a comparison by (partition, offset) would report
 * records as missing that are in S3.
 */
export const BARE_VALUES_REFUSAL =
  'the archive holds bare values (format.class JsonFormat, ARCHIVER_RECORD_METADATA=false) without Kafka offsets; the audit compares by (partition, offset) and cannot audit it';

export class AuditRefusedError extends Error {}

/**
 * Compares the archive with the topic record by record, by (partition, offset): every valid record
 * of the topic must be in S3 exactly once, and S3 must hold nothing else. Differences are named by
 * event id.
 */
export class ArchiveAudit {
  private readonly topic = new Map<string, string>();
  private readonly archived = new Map<string, { eventId: string; count: number }>();
  private invalid = 0;
  private problems = 0;

  addTopicRecord(partition: number, message: KafkaMessage): void {
    const decoded = decode(TransformedWebLogContract, message.value);
    if (!decoded.ok) {
      this.invalid++;
      return;
    }
    this.topic.set(`${partition}:${message.offset}`, decoded.value.event_id);
  }

  addArchivedRecord(record: RestoredRecord): void {
    if (record.coordinates !== 'kafka') throw new AuditRefusedError(BARE_VALUES_REFUSAL);
    const id = `${record.partition}:${record.offset}`;
    const entry = this.archived.get(id);
    if (entry) entry.count++;
    else this.archived.set(id, { eventId: record.value.event_id, count: 1 });
  }

  addProblems(count: number): void {
    this.problems += count;
  }

  report(): AuditReport {
    const missing = [...this.topic].filter(([id]) => !this.archived.has(id)).map(([, eventId]) => eventId);
    const duplicated = [...this.archived.values()].filter((e) => e.count > 1).map((e) => e.eventId);
    const unexpected = [...this.archived].filter(([id]) => !this.topic.has(id)).map(([, e]) => e.eventId);
    const archivedRecords = [...this.archived.values()].reduce((sum, e) => sum + e.count, 0);
    return {
      ok: missing.length === 0 && duplicated.length === 0 && unexpected.length === 0 && this.problems === 0,
      topicRecords: this.topic.size,
      archivedRecords,
      missingInS3: missing.length,
      duplicatedInS3: duplicated.length,
      unexpectedInS3: unexpected.length,
      invalidInTopic: this.invalid,
      problems: this.problems,
      examples: {
        missing: missing.slice(0, EXAMPLES),
        duplicated: duplicated.slice(0, EXAMPLES),
        unexpected: unexpected.slice(0, EXAMPLES),
      },
    };
  }
}
