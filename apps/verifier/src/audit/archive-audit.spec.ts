import { KafkaMessage } from 'kafkajs';
import { aTransformedWebLog } from '@weblog/kafka-common/testing';
import { ArchiveObject, RestoredRecord } from '@weblog/s3-archive';
import { ArchiveAudit } from './archive-audit';

const log = (n: number) => aTransformedWebLog({ event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` });
const id = (n: number) => log(n).event_id;
const message = (offset: number, value: unknown) =>
  ({ offset: String(offset), value: Buffer.from(JSON.stringify(value)) }) as unknown as KafkaMessage;
const object = (partition: number, firstOffset: number, generation = 0) =>
  ({
    key: `topics/out/partition=${partition}/out+${partition}+${String(firstOffset).padStart(20, '0')}${generation ? `+g${generation}` : ''}.jsonl`,
    topic: 'out',
    partition,
    firstOffset: BigInt(firstOffset),
    generation,
    size: 1,
  }) as ArchiveObject;
const line = (partition: number, offset: number, value: ReturnType<typeof log>, coordinates: 'kafka' | 'position' = 'kafka') =>
  ({
    partition,
    offset: BigInt(offset),
    generation: 0,
    key: null,
    timestamp: undefined,
    headers: {},
    value,
    coordinates,
  }) as RestoredRecord;
/** Bare values of an object, as the reader gives them: positions counted from the object's first offset. */
const bare = (partition: number, firstOffset: number, ns: number[]) =>
  ns.map((n, i) => line(partition, firstOffset + i, log(n), 'position'));

/** Partition 0 with records 0..4 at offsets 0..4, a dead-lettered record at 5, a transaction marker at 9, records 5..7 at 6..8 and 8 at 10. */
function topicWithGaps(audit: ArchiveAudit): void {
  for (let n = 0; n < 5; n++) audit.addTopicRecord(0, message(n, log(n)));
  audit.addTopicRecord(0, message(5, { bad: true }));
  for (let n = 5; n < 8; n++) audit.addTopicRecord(0, message(n + 1, log(n)));
  audit.addTopicRecord(0, message(10, log(8)));
}

describe('ArchiveAudit by offset (lines with Kafka metadata)', () => {
  it('passes when S3 holds every valid topic record exactly once', () => {
    const audit = new ArchiveAudit();
    for (let o = 0; o < 5; o++) audit.addTopicRecord(0, message(o, log(o)));
    audit.addTopicRecord(0, message(5, { bad: true }));
    audit.addArchivedObject(
      object(0, 0),
      [0, 1, 2, 3, 4].map((o) => line(0, o, log(o))),
    );
    expect(audit.report()).toMatchObject({ ok: true, judgedBy: 'offset', topicRecords: 5, archivedRecords: 5, invalidInTopic: 1 });
  });

  it('names missing, duplicated and unexpected records by event id, partition and offset', () => {
    const audit = new ArchiveAudit();
    audit.addTopicRecord(0, message(0, log(0)));
    audit.addTopicRecord(0, message(1, log(1)));
    audit.addArchivedObject(object(0, 0), [line(0, 0, log(0))]);
    audit.addArchivedObject(object(0, 0), [line(0, 0, log(0))]);
    audit.addArchivedObject(object(1, 7), [line(1, 7, log(7))]);
    const report = audit.report();
    expect(report).toMatchObject({ ok: false, missingInS3: 1, duplicatedInS3: 1, unexpectedInS3: 1, otherRecordsInS3: 0 });
    expect(report.examples.missing).toEqual([{ eventId: id(1), partition: 0, offset: '1' }]);
    expect(report.examples.duplicated).toEqual([{ eventId: id(0), partition: 0, offset: '0' }]);
    expect(report.examples.unexpected).toEqual([{ eventId: id(7), partition: 1, offset: '7', object: object(1, 7).key }]);
  });

  it('finds other records at the offsets of live ones (an earlier incarnation) and names the live ones missing', () => {
    const audit = new ArchiveAudit();
    for (let o = 0; o < 4; o++) audit.addTopicRecord(2, message(o, log(o)));
    audit.addArchivedObject(object(2, 0), [line(2, 0, log(0)), line(2, 1, log(1))]);
    audit.addArchivedObject(object(2, 2), [line(2, 2, log(102)), line(2, 3, log(103))]);
    const report = audit.report();
    expect(report).toMatchObject({
      ok: false,
      judgedBy: 'offset',
      archivedRecords: 4,
      missingInS3: 2,
      otherRecordsInS3: 2,
      unexpectedInS3: 0,
    });
    expect(report.examples.missing).toEqual([
      { eventId: id(2), partition: 2, offset: '2' },
      { eventId: id(3), partition: 2, offset: '3' },
    ]);
    expect(report.examples.otherRecords.map((r) => [r.eventId, r.offset])).toEqual([
      [id(102), '2'],
      [id(103), '3'],
    ]);
  });

  it('reports an earlier generation of a recreated topic as its history, and fails on other records in the latest', () => {
    const audit = new ArchiveAudit();
    for (let o = 0; o < 2; o++) audit.addTopicRecord(0, message(o, log(o)));
    audit.addArchivedObject(object(0, 0), [line(0, 0, log(100)), line(0, 1, log(101))]);
    audit.addArchivedObject(object(0, 0, 1), [line(0, 0, log(0)), line(0, 1, log(1))]);
    const history = audit.report();
    expect(history).toMatchObject({ ok: true, missingInS3: 0, otherRecordsInS3: 0, earlierIncarnationInS3: 2 });
    expect(history.examples.earlierIncarnation.map((r) => [r.eventId, r.offset, r.generation])).toEqual([
      [id(100), '0', undefined],
      [id(101), '1', undefined],
    ]);

    const wrong = new ArchiveAudit();
    wrong.addTopicRecord(0, message(0, log(0)));
    wrong.addArchivedObject(object(0, 0), [line(0, 0, log(0))]);
    wrong.addArchivedObject(object(0, 1, 1), [line(0, 1, log(7))]);
    expect(wrong.report()).toMatchObject({ ok: false, unexpectedInS3: 1 });
    expect(wrong.report().examples.unexpected[0]).toMatchObject({ eventId: id(7), generation: 1 });
  });

  it('counts lines of an earlier generation beyond where the recreated topic ends as its history, not as unexpected', () => {
    // The first incarnation reached offset 3; the recreated topic holds offsets 0 and 1 so far.
    const audit = new ArchiveAudit();
    for (let o = 0; o < 2; o++) audit.addTopicRecord(0, message(o, log(o)));
    audit.addArchivedObject(object(0, 0), [line(0, 0, log(100)), line(0, 1, log(101)), line(0, 2, log(102)), line(0, 3, log(103))]);
    audit.addArchivedObject(object(0, 0, 1), [line(0, 0, log(0)), line(0, 1, log(1))]);
    expect(audit.report()).toMatchObject({ ok: true, missingInS3: 0, unexpectedInS3: 0, earlierIncarnationInS3: 4 });
  });

  it('fails when the archive had unreadable objects or lines', () => {
    const audit = new ArchiveAudit();
    audit.addProblems(1);
    expect(audit.report().ok).toBe(false);
  });

  it('gives the same report twice', () => {
    const audit = new ArchiveAudit();
    audit.addTopicRecord(0, message(0, log(0)));
    audit.addArchivedObject(object(0, 0), [line(0, 0, log(0))]);
    expect(audit.report()).toEqual(audit.report());
  });
});

describe('ArchiveAudit by identity (bare values, no offsets)', () => {
  it('passes a complete archive across the gaps that make positions drift, and says how it judged', () => {
    const audit = new ArchiveAudit();
    topicWithGaps(audit);
    audit.addArchivedObject(object(0, 0), bare(0, 0, [0, 1, 2, 3, 4]));
    audit.addArchivedObject(object(0, 6), bare(0, 6, [5, 6, 7, 8]));
    expect(audit.report()).toMatchObject({
      ok: true,
      judgedBy: 'identity',
      topicRecords: 9,
      archivedRecords: 9,
      missingInS3: 0,
      unexpectedInS3: 0,
      otherRecordsInS3: 0,
      outOfOrderInS3: 0,
    });
  });

  it('names by event id, partition and offset the records of a deleted object', () => {
    const audit = new ArchiveAudit();
    topicWithGaps(audit);
    audit.addArchivedObject(object(0, 6), bare(0, 6, [5, 6, 7, 8]));
    const report = audit.report();
    expect(report).toMatchObject({ ok: false, judgedBy: 'identity', missingInS3: 5, otherRecordsInS3: 0 });
    expect(report.examples.missing).toEqual([0, 1, 2, 3, 4].map((n) => ({ eventId: id(n), partition: 0, offset: String(n) })));
  });

  it('reports records the topic does not hold as other records, with their object', () => {
    const audit = new ArchiveAudit();
    topicWithGaps(audit);
    audit.addArchivedObject(object(0, 0), bare(0, 0, [100, 101, 102, 103, 104]));
    audit.addArchivedObject(object(0, 6), bare(0, 6, [5, 6, 7, 8]));
    const report = audit.report();
    expect(report).toMatchObject({ ok: false, missingInS3: 5, otherRecordsInS3: 5 });
    expect(report.examples.otherRecords[0]).toEqual({ eventId: id(100), partition: 0, object: object(0, 0).key });
  });

  it('tells a record produced twice, archived at both offsets, from one archived twice', () => {
    const audit = new ArchiveAudit();
    audit.addTopicRecord(0, message(0, log(0)));
    audit.addTopicRecord(0, message(1, log(1)));
    audit.addTopicRecord(0, message(2, log(0)));
    audit.addArchivedObject(object(0, 0), bare(0, 0, [0, 1]));
    audit.addArchivedObject(object(0, 2), bare(0, 2, [0]));
    expect(audit.report()).toMatchObject({ ok: true, missingInS3: 0, duplicatedInS3: 0 });

    const twice = new ArchiveAudit();
    twice.addTopicRecord(0, message(0, log(0)));
    twice.addTopicRecord(0, message(1, log(1)));
    twice.addArchivedObject(object(0, 0), bare(0, 0, [0, 1]));
    twice.addArchivedObject(object(0, 1), bare(0, 1, [1]));
    expect(twice.report()).toMatchObject({ ok: false, missingInS3: 0, duplicatedInS3: 1, outOfOrderInS3: 0 });
  });

  it('names the record lost when only its copy at the later offset was archived', () => {
    const audit = new ArchiveAudit();
    audit.addTopicRecord(0, message(0, log(0)));
    audit.addTopicRecord(0, message(1, log(1)));
    audit.addTopicRecord(0, message(2, log(0)));
    audit.addArchivedObject(object(0, 1), bare(0, 1, [1, 0]));
    expect(audit.report().examples.missing).toEqual([{ eventId: id(0), partition: 0, offset: '0' }]);
  });

  it('finds lines out of the topic order, and a record filed before its place', () => {
    const audit = new ArchiveAudit();
    for (let n = 0; n < 4; n++) audit.addTopicRecord(0, message(n, log(n)));
    audit.addArchivedObject(object(0, 0), bare(0, 0, [0, 2, 1]));
    audit.addArchivedObject(object(0, 3), bare(0, 3, [3, 0]));
    const report = audit.report();
    expect(report).toMatchObject({ ok: false, outOfOrderInS3: 1, duplicatedInS3: 0, unexpectedInS3: 1 });
    expect(report.examples.outOfOrder.map((r) => r.eventId)).toEqual([id(1)]);
  });

  it('judges a mixed archive each line its own way', () => {
    const audit = new ArchiveAudit();
    for (let n = 0; n < 4; n++) audit.addTopicRecord(0, message(n, log(n)));
    audit.addArchivedObject(object(0, 0), [line(0, 0, log(0)), line(0, 1, log(1))]);
    audit.addArchivedObject(object(0, 2), bare(0, 2, [2, 3]));
    expect(audit.report()).toMatchObject({ ok: true, judgedBy: 'mixed', archivedRecords: 4 });
  });
});
