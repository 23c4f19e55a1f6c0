import path from 'node:path';
import { Kafka } from 'kafkajs';
import {
  decode,
  deriveEventId,
  parseAuditReport,
  parseEnv,
  parseVerificationReport,
  s3EnvShape,
  serviceEnv,
  timestampToUtc,
  TransformedWebLogContract,
  WebLogContract,
} from '@weblog/kafka-common';
import {
  caughtUp,
  consumeAll,
  consumeRecords,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { preparePythonPackages, ServiceProcess, SupervisedProcess as WatchedProcess } from '@weblog/local-infra';
import { ArchiveStore, createS3Client, listArchive, readArchiveObject } from '@weblog/s3-archive';

const RECORDS = 2000;
const producerDir = path.join(__dirname, 'python-producer');
// A zone without daylight saving time, so the run cannot straddle a change of offset.
const ZONE = 'Asia/Tokyo';

/**
 * A producer written as the original pipeline notes write one (Python, Faker, kafka-python; JSON
 * with the six fields, `isoformat()` timestamps mostly without a zone, `fake.uri()` URLs, no key)
 * sends 2,000 records into a running pipeline: every one must come out of the output topic
 * upper-cased with an event id and its instant in UTC, be archived in S3 once, and be counted by
 * the verifier.
 */
describe('a producer as the original notes write it', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let pythonPath: string;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    pythonPath = await preparePythonPackages('e2e-original-notes-producer', path.join(producerDir, 'requirements.txt'), (line) =>
      process.stderr.write(`${line}\n`),
    );
    kafka = testKafka('python-producer-e2e');
    admin = highWatermarkAdmin(kafka);
    await admin.connect();
  }, 300000);

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  async function start(app: string, env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(app, env);
    services.push(service);
    return service;
  }

  it('carries all 2,000 records to the output topic upper-cased, into S3 once each, and into the verifier count', async () => {
    const topics = isolatedTopics('python-producer');
    const id = uniqueName('python-producer');
    const shared = { ...topics.env, ARCHIVER_TOPICS_DIR: id, VERIFIER_ARCHIVE_TOPICS_DIR: id, S3_BUCKET: 'weblog-archive' };
    const verifier = await start('verifier', { ...shared, VERIFIER_GROUP_ID: `${id}-verifier`, VERIFIER_AUDIT_ENABLED: 'true' });
    const archiver = await start('s3-archiver', { ...shared, ARCHIVER_GROUP_ID: `${id}-archiver`, ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
    const transformer = await start('transformer', { ...shared, TRANSFORMER_GROUP_ID: `${id}-transformer`, TRANSFORMER_TIMEZONE: ZONE });
    await Promise.all([verifier.ready(), archiver.ready(), transformer.ready()]);

    const started = Date.now();
    const producer = WatchedProcess.spawn('python producer', 'python3', [path.join(producerDir, 'producer.py')], {
      PYTHONPATH: pythonPath,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      BOOTSTRAP_SERVERS: process.env['KAFKA_BROKERS'] ?? '',
      TOPIC: topics.input,
      COUNT: String(RECORDS),
      NAIVE_ZONE: ZONE,
    });
    const code = await producer.waitForExit(120000).catch(async (error: unknown) => {
      await producer.kill();
      throw error;
    });
    // The last line is the producer's summary (kafka-python may warn before it about the lambda serializer).
    const summary = producer.logs.trim().split('\n').pop() ?? '';
    expect([code, summary]).toEqual([0, JSON.stringify({ sent: RECORDS }).replace(':', ': ')]);
    const finished = Date.now();

    // What the producer wrote, as the broker holds it: the six fields, no key, no event id.
    const inputs = await consumeAll(kafka, topics.input);
    expect(inputs).toHaveLength(RECORDS);
    const expected = new Map<string, Record<string, unknown>>();
    let zoneLess = 0;
    for (const { partition, message } of inputs) {
      expect(message.key).toBeNull();
      const decoded = decode(WebLogContract, message.value);
      if (!decoded.ok || !message.value)
        throw new Error(`the producer wrote a record the contract refuses: ${decoded.ok ? 'empty' : decoded.detail}`);
      const log = decoded.value;
      expect(Object.keys(log).sort()).toEqual(['ip', 'method', 'status_code', 'timestamp', 'url', 'user_agent']);
      expect(log.url).toMatch(/^https?:\/\//);
      if (!/[+-]\d{2}:\d{2}$/.test(log.timestamp)) zoneLess++;
      const eventId = deriveEventId({ topic: topics.input, partition, offset: message.offset }, message.value).toUpperCase();
      const upper = Object.fromEntries(Object.entries(log).map(([k, v]) => [k, typeof v === 'string' ? v.toUpperCase() : v]));
      expected.set(eventId, { ...upper, event_id: eventId, timestamp_utc: timestampToUtc(log.timestamp, ZONE) });
    }
    expect(expected.size).toBe(RECORDS);
    expect(zoneLess).toBeGreaterThan(RECORDS / 2);

    const output = await consumeRecords(kafka, topics.output, RECORDS);
    const seen = new Set<string>();
    for (const { message } of output) {
      const decoded = decode(TransformedWebLogContract, message.value);
      if (!decoded.ok) throw new Error(decoded.detail);
      expect(message.key).toBeNull();
      expect(decoded.value).toEqual(expected.get(decoded.value.event_id));
      // The instant, judged against the clock rather than the code that computed it: the zone-less
      // wall times of Tokyo and the offset ones alike must land within the run.
      const instant = Date.parse(`${decoded.value.timestamp_utc.slice(0, 23)}Z`);
      expect(instant).toBeGreaterThanOrEqual(started - 60000);
      expect(instant).toBeLessThanOrEqual(finished + 60000);
      seen.add(decoded.value.event_id);
    }
    expect(seen.size).toBe(RECORDS);
    expect(await consumeAll(kafka, topics.deadLetter)).toEqual([]);

    // The verifier counted every one (untracked: a plain producer sends no run headers).
    const report = await eventually(async () => {
      const current = parseVerificationReport((await verifier.get('/report')).text);
      return current.verified >= RECORDS ? current : undefined;
    }, 60000);
    expect(report).toMatchObject({ verified: RECORDS, invalid: 0, untracked: RECORDS, runs: [] });
    expect(metricValue((await verifier.get('/metrics')).text, 'weblog_verifier_records_verified_total')).toBe(RECORDS);

    // S3 holds each record once, exactly as the output topic has it.
    await eventually(() => caughtUp(admin, `${id}-archiver`, topics.output), 120000);
    const store = new ArchiveStore(
      createS3Client(parseEnv(serviceEnv({ ...s3EnvShape }), { ...process.env, S3_BUCKET: 'weblog-archive' })),
      'weblog-archive',
    );
    const archived = new Map<string, number>();
    for (const list of (await listArchive(store, id, topics.output)).values()) {
      for (const object of list) {
        const read = await readArchiveObject(store, object);
        expect(read.problems).toEqual([]);
        for (const record of read.records) {
          expect(record.value).toEqual(expected.get(record.value.event_id));
          archived.set(record.value.event_id, (archived.get(record.value.event_id) ?? 0) + 1);
        }
      }
    }
    expect(archived.size).toBe(RECORDS);
    expect([...archived.values()].filter((n) => n !== 1)).toEqual([]);
    const audit = parseAuditReport(await (await fetch(`${verifier.url}/audit`, { method: 'POST' })).text());
    expect(audit).toMatchObject({ ok: true, topicRecords: RECORDS, archivedRecords: RECORDS, missingInS3: 0, duplicatedInS3: 0 });
  }, 300000);
});
