import { KafkaMessage } from 'kafkajs';
import { AuditArchivedLine, AuditJudgement, AuditReport, AuditTopicRecord, decode, TransformedWebLogContract } from '@weblog/kafka-common';
import { ArchiveObject, RestoredRecord } from '@weblog/s3-archive';

const EXAMPLES = 50;

/** A valid record of the topic, and how many archive lines hold it. */
interface TopicRecord {
  readonly eventId: string;
  readonly partition: number;
  readonly offset: bigint;
  holders: number;
}

/** The valid records of one partition of the topic, by offset and by identity. */
class PartitionRecords {
  readonly inOrder: TopicRecord[] = [];
  readonly byOffset = new Map<bigint, TopicRecord>();
  /** Every record of an event id (a record produced twice has two), in offset order. */
  readonly byEventId = new Map<string, TopicRecord[]>();

  add(record: TopicRecord): void {
    this.inOrder.push(record);
    this.byOffset.set(record.offset, record);
    const same = this.byEventId.get(record.eventId);
    if (same) same.push(record);
    else this.byEventId.set(record.eventId, [record]);
  }
}

interface ArchivedObjectLines {
  readonly object: ArchiveObject;
  readonly lines: readonly RestoredRecord[];
}

/**
 * The incarnation of the partition the object was written for (0, the plain key, unless the topic
 * was recreated); read loosely, since a reader that predates generations does not name one.
 */
function generationOf(object: ArchiveObject): number {
  const generation: unknown = (object as unknown as Record<string, unknown>)['generation'];
  return typeof generation === 'number' && Number.isSafeInteger(generation) && generation > 0 ? generation : 0;
}

/**
 * Compares the archive with the topic by content: every valid record of the topic (partition,
 * offset, event id) must be held by exactly one archive line, and every line must hold a record of
 * the topic. A line with Kafka metadata is judged at its own (partition, offset), where the topic's
 * record must have the line's event id: an object at the right offsets holding other records (a
 * recreated topic's earlier incarnation) is found out. A bare value (ARCHIVER_RECORD_METADATA=false,
 * Connect's JsonFormat) carries no offset, and the positions a reader could give it drift at every
 * gap of the partition (dead-lettered records, transaction markers), so it is matched by event id
 * to a record of its partition at or after its object's first offset, and the lines of a partition,
 * objects in log order (generation, then first offset), must keep the topic's order.
 *
 * Other records in an object of an earlier generation than its partition's latest are what a
 * recreated topic's first incarnation left, written there before the archiver moved to the next
 * generation: reported, but the archive's history rather than a fault. The same in the latest
 * generation stand where live records belong, and fail the audit.
 *
 * The topic is read whole before the report is made; objects may come in any order.
 */
export class ArchiveAudit {
  private readonly partitions = new Map<number, PartitionRecords>();
  private readonly objects: ArchivedObjectLines[] = [];
  private topicCount = 0;
  private invalid = 0;
  private problems = 0;

  addTopicRecord(partition: number, message: KafkaMessage): void {
    const decoded = decode(TransformedWebLogContract, message.value);
    if (!decoded.ok) {
      this.invalid++;
      return;
    }
    this.topicCount++;
    this.partitionRecords(partition).add({ eventId: decoded.value.event_id, partition, offset: BigInt(message.offset), holders: 0 });
  }

  /** One archive object and the lines it holds, in their order. */
  addArchivedObject(object: ArchiveObject, lines: readonly RestoredRecord[]): void {
    this.objects.push({ object, lines });
  }

  addProblems(count: number): void {
    this.problems += count;
  }

  report(): AuditReport {
    const unexpected: AuditArchivedLine[] = [];
    const otherRecords: AuditArchivedLine[] = [];
    const earlierIncarnation: AuditArchivedLine[] = [];
    const outOfOrder: AuditArchivedLine[] = [];
    let archivedRecords = 0;
    let byOffset = 0;
    let byIdentity = 0;
    /** Per partition, the offset of the record the last bare line held: the next must come after it. */
    const lastHeld = new Map<number, bigint>();
    const objects = [...this.objects].sort(
      (a, b) =>
        a.object.partition - b.object.partition ||
        generationOf(a.object) - generationOf(b.object) ||
        (a.object.firstOffset < b.object.firstOffset ? -1 : a.object.firstOffset > b.object.firstOffset ? 1 : 0),
    );
    const latest = new Map<number, number>();
    for (const { object } of objects) latest.set(object.partition, Math.max(latest.get(object.partition) ?? 0, generationOf(object)));
    for (const { object, lines } of objects) {
      const generation = generationOf(object);
      const other = generation < (latest.get(object.partition) ?? 0) ? earlierIncarnation : otherRecords;
      for (const line of lines) {
        archivedRecords++;
        const records = this.partitionRecords(line.partition);
        const named: AuditArchivedLine = {
          eventId: line.value.event_id,
          partition: line.partition,
          ...(line.coordinates === 'kafka' ? { offset: line.offset.toString() } : {}),
          object: object.key,
          ...(generation > 0 ? { generation } : {}),
        };
        if (line.coordinates === 'kafka') {
          byOffset++;
          const record = records.byOffset.get(line.offset);
          // An earlier incarnation may have run past where the recreated topic ends now.
          if (!record) (other === earlierIncarnation ? earlierIncarnation : unexpected).push(named);
          else if (record.eventId !== line.value.event_id) other.push(named);
          else record.holders++;
          continue;
        }
        byIdentity++;
        const candidates = records.byEventId.get(line.value.event_id);
        if (!candidates) {
          other.push(named);
          continue;
        }
        const inPlace = candidates.filter((c) => c.offset >= object.firstOffset);
        const fresh = inPlace.find((c) => c.holders === 0);
        if (fresh) {
          fresh.holders++;
          const previous = lastHeld.get(line.partition);
          if (previous !== undefined && fresh.offset < previous) outOfOrder.push(named);
          lastHeld.set(line.partition, fresh.offset);
        } else if (inPlace[0]) {
          inPlace[0].holders++;
        } else {
          // The record is in the topic, but before the first offset the object's key claims.
          unexpected.push(named);
        }
      }
    }
    const all = [...this.partitions.keys()].sort((a, b) => a - b).flatMap((p) => this.partitionRecords(p).inOrder);
    const missing = all.filter((r) => r.holders === 0).map(named);
    const duplicated = all.filter((r) => r.holders > 1).map(named);
    // Counting holders is destructive; a second report must start from none.
    for (const record of all) record.holders = 0;
    const judgedBy: AuditJudgement = byIdentity === 0 ? 'offset' : byOffset === 0 ? 'identity' : 'mixed';
    const differences = missing.length + duplicated.length + unexpected.length + otherRecords.length + outOfOrder.length;
    return {
      ok: differences === 0 && this.problems === 0,
      judgedBy,
      topicRecords: this.topicCount,
      archivedRecords,
      missingInS3: missing.length,
      duplicatedInS3: duplicated.length,
      unexpectedInS3: unexpected.length,
      otherRecordsInS3: otherRecords.length,
      earlierIncarnationInS3: earlierIncarnation.length,
      outOfOrderInS3: outOfOrder.length,
      invalidInTopic: this.invalid,
      problems: this.problems,
      examples: {
        missing: missing.slice(0, EXAMPLES),
        duplicated: duplicated.slice(0, EXAMPLES),
        unexpected: unexpected.slice(0, EXAMPLES),
        otherRecords: otherRecords.slice(0, EXAMPLES),
        earlierIncarnation: earlierIncarnation.slice(0, EXAMPLES),
        outOfOrder: outOfOrder.slice(0, EXAMPLES),
      },
    };
  }

  private partitionRecords(partition: number): PartitionRecords {
    let records = this.partitions.get(partition);
    if (!records) {
      records = new PartitionRecords();
      this.partitions.set(partition, records);
    }
    return records;
  }
}

const named = (record: TopicRecord): AuditTopicRecord => ({
  eventId: record.eventId,
  partition: record.partition,
  offset: record.offset.toString(),
});
