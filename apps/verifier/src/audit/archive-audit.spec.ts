import { KafkaMessage } from 'kafkajs';
import { aTransformedWebLog } from '@weblog/kafka-common/testing';
import { RestoredRecord } from '@weblog/s3-archive';
import { ArchiveAudit, BARE_VALUES_REFUSAL } from './archive-audit';

const log = (n: number) => aTransformedWebLog({ event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}` });
const message = (offset: number, value: unknown) =>
  ({ offset: String(offset), value: Buffer.from(JSON.stringify(value)) }) as unknown as KafkaMessage;
const restored = (partition: number, offset: number, value: ReturnType<typeof log>): RestoredRecord => ({
  partition,
  offset: BigInt(offset),
  key: null,
  timestamp: undefined,
  headers: {},
  value,
  coordinates: 'kafka',
});

describe('ArchiveAudit', () => {
  it('passes when S3 holds every valid topic record exactly once', () => {
    const audit = new ArchiveAudit();
    for (let o = 0; o < 5; o++) {
      audit.addTopicRecord(0, message(o, log(o)));
      audit.addArchivedRecord(restored(0, o, log(o)));
    }
    audit.addTopicRecord(0, message(5, { bad: true }));
    expect(audit.report()).toMatchObject({ ok: true, topicRecords: 5, archivedRecords: 5, invalidInTopic: 1 });
  });

  it('refuses, in one line, an archive of bare values it cannot compare by offset', () => {
    const audit = new ArchiveAudit();
    audit.addTopicRecord(0, message(0, log(0)));
    expect(() => audit.addArchivedRecord({ ...restored(0, 0, log(0)), coordinates: 'position' })).toThrow(BARE_VALUES_REFUSAL);
    expect(BARE_VALUES_REFUSAL).not.toContain('\n');
  });

  it('names missing, duplicated and unexpected records by event id', () => {
    const audit = new ArchiveAudit();
    audit.addTopicRecord(0, message(0, log(0)));
    audit.addTopicRecord(0, message(1, log(1)));
    audit.addArchivedRecord(restored(0, 0, log(0)));
    audit.addArchivedRecord(restored(0, 0, log(0)));
    audit.addArchivedRecord(restored(1, 7, log(7)));
    const report = audit.report();
    expect(report).toMatchObject({ ok: false, missingInS3: 1, duplicatedInS3: 1, unexpectedInS3: 1 });
    expect(report.examples).toEqual({ missing: [log(1).event_id], duplicated: [log(0).event_id], unexpected: [log(7).event_id] });
  });

  it('fails when the archive had unreadable objects or lines', () => {
    const audit = new ArchiveAudit();
    audit.addProblems(1);
    expect(audit.report().ok).toBe(false);
  });
});
