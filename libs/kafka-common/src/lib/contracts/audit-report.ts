import { z } from 'zod';
import { defineContract } from './contract';
import { parseReport } from './verification-report';

const count = z.number().int().min(0);

/** A record of the output topic, where it is in Kafka. */
const topicRecordSchema = z.object({ eventId: z.string(), partition: count, offset: z.string() });

/** A line of the archive: the object holding it, and the offset it carries when it has Kafka metadata. */
const archivedLineSchema = z.object({
  eventId: z.string(),
  partition: count,
  offset: z.string().optional(),
  object: z.string(),
  /** The incarnation of the partition the object's key names (absent: 0, the plain key). */
  generation: z.number().int().min(1).optional(),
});

/**
 * How the archive was compared with the topic:
 * `offset`: every line carried its Kafka coordinates; the record at each (partition, offset) of the
 * topic must be the one the line holds (same event_id).
 * `identity`: no line carried coordinates (ARCHIVER_RECORD_METADATA=false, Connect's JsonFormat);
 * each line is matched by event_id to a record of its partition at or after its object's first
 * offset, and the lines of a partition must keep the topic's order.
 * `mixed`: both kinds of lines, each judged its own way.
 */
const judgementSchema = z.enum(['offset', 'identity', 'mixed']);

/** The S3 audit (`POST /audit`): the archive compared with the output topic record by record, by content. */
export const AuditReportContract = defineContract(
  'AuditReport',
  z.object({
    ok: z.boolean(),
    judgedBy: judgementSchema,
    topicRecords: count,
    archivedRecords: count,
    /** Records of the topic the archive does not hold. */
    missingInS3: count,
    /** Records of the topic the archive holds more than once. */
    duplicatedInS3: count,
    /** Lines where the topic has no record: an offset past its end or of a dead-lettered record, or a record filed before its place. */
    unexpectedInS3: count,
    /**
     * Lines of the partition's latest generation holding records the topic does not have there: an
     * earlier incarnation of a recreated topic, or anything else written at the keys of live records.
     */
    otherRecordsInS3: count,
    /**
     * Lines of an earlier generation than their partition's latest holding records the topic does not
     * have: the archive of a recreated topic's first incarnation. Reported; not a fault.
     */
    earlierIncarnationInS3: count,
    /** Lines whose record comes before the one of the previous line of their partition (identity judgement). */
    outOfOrderInS3: count,
    /** Invalid records of the topic are dead-lettered, not archived, so they are not expected in S3. */
    invalidInTopic: count,
    problems: count,
    /** Up to 50 of each kind of difference, by name. */
    examples: z.object({
      missing: z.array(topicRecordSchema),
      duplicated: z.array(topicRecordSchema),
      unexpected: z.array(archivedLineSchema),
      otherRecords: z.array(archivedLineSchema),
      earlierIncarnation: z.array(archivedLineSchema),
      outOfOrder: z.array(archivedLineSchema),
    }),
  }),
);

export type AuditReport = z.infer<typeof AuditReportContract.schema>;
export type AuditJudgement = z.infer<typeof judgementSchema>;
export type AuditTopicRecord = z.infer<typeof topicRecordSchema>;
export type AuditArchivedLine = z.infer<typeof archivedLineSchema>;

export function parseAuditReport(text: string): AuditReport {
  return parseReport(AuditReportContract, text);
}
