import { Kafka, Producer } from 'kafkajs';
import {
  aTransformedWebLog,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { ArchiveContents, differences, groupCommitted, readArchive, testStore } from './archive-helpers';

/**
 * Objects keep to windows of flush size offsets, so an archiver writes the windows side by side.
 * These runs hand a partition to a second archiver after a first one left objects beyond the
 * committed offset (its group is another, so nothing of them is committed), as a crash between
 * upload and commit or a stale instance does: the second follows them, then writes on.
 */
describe('s3-archiver: objects in offset windows, written side by side', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  const store = testStore();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('archiver-windows-e2e');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  async function produce(topic: string, from: number, count: number): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => aTransformedWebLog({ url: `/WINDOWS/${from + i}` }));
    await producer.send({ topic, acks: -1, messages: values.map((v) => ({ partition: 0, key: v.ip, value: JSON.stringify(v) })) });
    return values.map((v) => v.event_id);
  }

  async function start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start('s3-archiver', env);
    services.push(service);
    await service.ready();
    return service;
  }

  async function archived(topicsDir: string, topic: string, records: number): Promise<void> {
    await eventually(async () => ((await readArchive(store, topicsDir, topic)).records.length >= records ? true : undefined), 60000);
  }

  /** [first, last] offsets of each object, in offset order. */
  const spans = (archive: ArchiveContents) =>
    archive.objects.map((o) => [Number(o.records[0]?.offset ?? -1), Number(o.records[o.records.length - 1]?.offset ?? -1)]);

  async function handOver(flushSizeBefore: number) {
    const topics = isolatedTopics(`windows-${flushSizeBefore}`);
    const topicsDir = uniqueName('archive');
    const env = (group: string, flushSize: number) => ({
      ...topics.env,
      ARCHIVER_GROUP_ID: uniqueName(group),
      ARCHIVER_TOPICS_DIR: topicsDir,
      ARCHIVER_FLUSH_SIZE: String(flushSize),
      ARCHIVER_ROTATE_INTERVAL_MS: '1000',
      S3_BUCKET: 'weblog-archive',
    });
    const earlier = await start(env('windows-earlier', flushSizeBefore));
    const sent = await produce(topics.output, 0, 95);
    await archived(topicsDir, topics.output, 95);
    expect(await earlier.stop()).toBe(0);
    sent.push(...(await produce(topics.output, 95, 405)));
    const laterEnv = env('windows-later', 10);
    const later = await start(laterEnv);
    await archived(topicsDir, topics.output, 500);
    await eventually(async () => ((await groupCommitted(admin, laterEnv.ARCHIVER_GROUP_ID, topics.output, 0)) === 500 ? true : undefined));
    const archive = await readArchive(store, topicsDir, topics.output);
    expect(differences(sent, archive.records)).toEqual({ missing: [], duplicated: [] });
    expect(archive.records.map((r) => Number(r.offset))).toEqual(Array.from({ length: 500 }, (_, i) => i));
    return { archive, later };
  }

  it('follows the objects an archiver of the same flush size left, then writes one object per window of 10 offsets', async () => {
    const { archive, later } = await handOver(10);
    // The earlier archiver's: nine full windows and a tail written by time.
    expect(spans(archive).slice(0, 10)).toEqual([...Array.from({ length: 9 }, (_, i) => [i * 10, i * 10 + 9]), [90, 94]]);
    // The later one's: the rest of that window, then every window whole.
    expect(spans(archive).slice(10)).toEqual([[95, 99], ...Array.from({ length: 40 }, (_, i) => [100 + i * 10, 109 + i * 10])]);
    const metrics = (await later.get('/metrics')).text;
    expect(metricValue(metrics, 'weblog_archiver_conditional_write_conflicts_total')).toBe(10);
    expect(metricValue(metrics, 'weblog_archiver_flushes_total', { reason: 'window' })).toBe(1);
    expect(later.logs).not.toContain('offset window');
  });

  it('follows objects of another flush size that cross its windows, writing window after window from then on', async () => {
    const { archive, later } = await handOver(13);
    // Written with windows of 13 offsets: seven full ones and a tail by time.
    expect(spans(archive).slice(0, 8)).toEqual([...Array.from({ length: 7 }, (_, i) => [i * 13, i * 13 + 12]), [91, 94]]);
    expect(spans(archive).slice(8)).toEqual([[95, 99], ...Array.from({ length: 40 }, (_, i) => [100 + i * 10, 109 + i * 10])]);
    expect(later.logs).toContain('runs past its offset window');
  });
});
