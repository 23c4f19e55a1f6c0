import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Kafka, Producer } from 'kafkajs';
import { AuditReport, decode, parseAuditReport, parseEnv, s3EnvShape, serviceEnv, TransformedWebLogContract } from '@weblog/kafka-common';
import {
  aTransformedWebLog,
  caughtUp,
  consumeRecords,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  produceJson,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { ArchiveObject, ArchiveStore, createS3Client, listArchive, readArchiveObject, RestoredRecord } from '@weblog/s3-archive';

const BUCKET = 'weblog-archive';
const PLAIN = 40;
const IN_TRANSACTION = 30;
const AFTER = 25;
const RECORDS = PLAIN + IN_TRANSACTION + AFTER;

/** A record of the output topic by name, as the audit names one. */
interface Named {
  readonly eventId: string;
  readonly partition: number;
  readonly offset: string;
}

const byName = (a: Named, b: Named) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset));

/**
 * The S3 audit as an operator runs it: the archiver writes the output topic to S3, the verifier
 * compares the archive with the topic by content, and the archive is then damaged behind their
 * backs (an object deleted, an object replaced by other records at the same keys).
 */
describe('verifier S3 audit by content', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  let store: ArchiveStore;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('verifier-audit-e2e');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
    store = new ArchiveStore(createS3Client(parseEnv(serviceEnv({ ...s3EnvShape }), { ...process.env, S3_BUCKET: BUCKET })), BUCKET);
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    store.client.destroy();
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  });

  async function start(app: string, env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(app, env);
    services.push(service);
    await service.ready();
    return service;
  }

  /**
   * Valid records with offsets that are not consecutive: a transaction's commit markers and a
   * dead-lettered record each take an offset the archive has no line for.
   */
  async function produceWithGaps(topic: string): Promise<void> {
    const logs = (count: number) =>
      Array.from({ length: count }, () => {
        const value = aTransformedWebLog();
        return { key: value.ip, value };
      });
    await produceJson(producer, topic, logs(PLAIN));
    const transactional = kafka.producer({ transactionalId: uniqueName('audit-tx'), idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    try {
      const transaction = await transactional.transaction();
      await transaction.send({
        topic,
        acks: -1,
        messages: logs(IN_TRANSACTION).map((r) => ({ key: r.key, value: JSON.stringify(r.value) })),
      });
      await transaction.commit();
    } finally {
      await transactional.disconnect();
    }
    await produceJson(producer, topic, [{ key: null, value: { not: 'a web log' } }, ...logs(AFTER)]);
  }

  /** Starts the verifier and an archiver sharing a fresh archive prefix; resolves once every record is in S3. */
  async function archived(prefix: string, archiverEnv: Record<string, string>) {
    const topics = isolatedTopics(prefix);
    const id = uniqueName(prefix);
    const shared = { ...topics.env, ARCHIVER_TOPICS_DIR: id, VERIFIER_ARCHIVE_TOPICS_DIR: id, S3_BUCKET: BUCKET };
    const [verifier] = await Promise.all([
      start('verifier', { ...shared, VERIFIER_GROUP_ID: `${id}-verifier`, VERIFIER_AUDIT_ENABLED: 'true' }),
      start('s3-archiver', { ...shared, ARCHIVER_GROUP_ID: `${id}-archiver`, ARCHIVER_ROTATE_INTERVAL_MS: '500', ...archiverEnv }),
    ]);
    await produceWithGaps(topics.output);
    await eventually(() => caughtUp(admin, `${id}-archiver`, topics.output), 120000);
    const live: Named[] = [];
    // Every record produced, the dead-lettered one included: reading by count needs no end offsets.
    for (const { partition, message } of await consumeRecords(kafka, topics.output, RECORDS + 1)) {
      const decoded = decode(TransformedWebLogContract, message.value);
      if (decoded.ok) live.push({ eventId: decoded.value.event_id, partition, offset: message.offset });
    }
    expect(live).toHaveLength(RECORDS);
    const objects = [...(await listArchive(store, id, topics.output)).values()].flat();
    return { verifier, live, objects };
  }

  async function audit(verifier: ServiceProcess): Promise<AuditReport> {
    const response = await fetch(`${verifier.url}/audit`, { method: 'POST' });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`POST /audit answered ${response.status}: ${text}`);
    return parseAuditReport(text);
  }

  /** An object of the archive with several records, and those records. */
  async function pick(
    objects: readonly ArchiveObject[],
    skip: ArchiveObject[] = [],
  ): Promise<{ object: ArchiveObject; records: RestoredRecord[] }> {
    for (const object of objects) {
      if (skip.includes(object)) continue;
      const { records } = await readArchiveObject(store, object);
      if (records.length >= 3) return { object, records };
    }
    throw new Error('no archive object holds three records or more');
  }

  async function replace(object: ArchiveObject, lines: readonly unknown[]): Promise<void> {
    const body = Buffer.from(lines.map((line) => `${JSON.stringify(line)}\n`).join(''), 'utf8');
    await store.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: object.key, Body: object.key.endsWith('.gz') ? gzipSync(body) : body }),
    );
  }

  it('audits an archive of bare values (ARCHIVER_RECORD_METADATA=false) by identity, and names the records of a deleted object', async () => {
    const { verifier, live, objects } = await archived('audit-bare', { ARCHIVER_RECORD_METADATA: 'false' });

    const whole = await audit(verifier);
    expect(whole).toMatchObject({
      ok: true,
      judgedBy: 'identity',
      topicRecords: RECORDS,
      archivedRecords: RECORDS,
      missingInS3: 0,
      duplicatedInS3: 0,
      unexpectedInS3: 0,
      otherRecordsInS3: 0,
      outOfOrderInS3: 0,
      invalidInTopic: 1,
      problems: 0,
    });

    const deleted = await pick(objects);
    await store.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted.object.key }));
    const ids = new Set(deleted.records.map((r) => r.value.event_id));
    const lost = live.filter((r) => ids.has(r.eventId)).sort(byName);
    expect(lost).toHaveLength(deleted.records.length);

    const damaged = await audit(verifier);
    expect(damaged).toMatchObject({
      ok: false,
      judgedBy: 'identity',
      archivedRecords: RECORDS - lost.length,
      missingInS3: lost.length,
      duplicatedInS3: 0,
      otherRecordsInS3: 0,
    });
    expect([...damaged.examples.missing].sort(byName)).toEqual(lost);

    // Other records in place of another object's: each named as other, the live ones as missing.
    const replaced = await pick(objects, [deleted.object]);
    const others = replaced.records.map(() => aTransformedWebLog());
    await replace(replaced.object, others);
    const replacedIds = new Set(replaced.records.map((r) => r.value.event_id));
    const alsoLost = live.filter((r) => replacedIds.has(r.eventId));
    const worse = await audit(verifier);
    expect(worse).toMatchObject({
      ok: false,
      judgedBy: 'identity',
      missingInS3: lost.length + alsoLost.length,
      otherRecordsInS3: others.length,
    });
    expect(worse.examples.otherRecords.map((r) => r.eventId).sort()).toEqual(others.map((o) => o.event_id).sort());
    expect(worse.examples.otherRecords.every((r) => r.object === replaced.object.key)).toBe(true);
  });

  it('names the live records lost under an object of other records written at their offsets (an earlier incarnation)', async () => {
    const { verifier, live, objects } = await archived('audit-content', {});

    expect(await audit(verifier)).toMatchObject({
      ok: true,
      judgedBy: 'offset',
      topicRecords: RECORDS,
      archivedRecords: RECORDS,
      missingInS3: 0,
      otherRecordsInS3: 0,
    });

    // The same keys, partition and offsets, other records: what a recreated topic's first incarnation left.
    const { object, records } = await pick(objects);
    const earlier = records.map((r) => ({
      topic: object.topic,
      partition: r.partition,
      offset: r.offset.toString(),
      timestamp: String(Date.now() - 86_400_000),
      key: null,
      headers: {},
      value: aTransformedWebLog(),
    }));
    await replace(object, earlier);
    const lost = records
      .map((r) => live.find((l) => l.partition === r.partition && l.offset === r.offset.toString()))
      .filter((r): r is Named => r !== undefined)
      .sort(byName);
    expect(lost.map((r) => r.eventId)).toEqual(records.map((r) => r.value.event_id));

    const report = await audit(verifier);
    expect(report).toMatchObject({
      ok: false,
      judgedBy: 'offset',
      topicRecords: RECORDS,
      archivedRecords: RECORDS,
      missingInS3: records.length,
      otherRecordsInS3: records.length,
      duplicatedInS3: 0,
      unexpectedInS3: 0,
    });
    expect([...report.examples.missing].sort(byName)).toEqual(lost);
    expect([...report.examples.otherRecords].map((r) => ({ eventId: r.eventId, offset: r.offset, object: r.object }))).toEqual(
      earlier.map((line) => ({ eventId: line.value.event_id, offset: line.offset, object: object.key })),
    );
  });
});
