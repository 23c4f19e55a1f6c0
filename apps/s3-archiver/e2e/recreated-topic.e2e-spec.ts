import { Kafka, Producer } from 'kafkajs';
import {
  aTransformedWebLog,
  caughtUp,
  createTestTopics,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  produceJson,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { differences, readArchive, testStore } from './archive-helpers';

describe('s3-archiver and a topic deleted and created again', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  let archiver: ServiceProcess | undefined;
  const store = testStore();
  const topics = isolatedTopics('recreated');
  const groupId = uniqueName('recreated-archiver');
  const topicsDir = uniqueName('archive');
  const env = { ...topics.env, ARCHIVER_GROUP_ID: groupId, ARCHIVER_TOPICS_DIR: topicsDir, ARCHIVER_ROTATE_INTERVAL_MS: '300' };

  beforeAll(async () => {
    kafka = testKafka('recreated-e2e');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await archiver?.kill();
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  const batch = (label: string, count: number) =>
    Array.from({ length: count }, (_, i) => {
      const value = aTransformedWebLog({ ip: `198.51.100.${i % 30}`, url: `/${label}/${i}` });
      return { key: value.ip, value };
    });

  /** Runs the archiver until it has committed the end of every partition, then stops it. */
  async function archiveAll(records: ReturnType<typeof batch>): Promise<string> {
    archiver = await ServiceProcess.start('s3-archiver', env);
    await archiver.ready();
    await produceJson(producer, topics.output, records);
    await eventually(() => caughtUp(admin, groupId, topics.output), 60000);
    const metrics = (await archiver.get('/metrics')).text;
    expect(await archiver.stop()).toBe(0);
    return metrics;
  }

  it('archives the new incarnation under a new generation, across a restart, and loses no record of either', async () => {
    const first = batch('FIRST', 150);
    await archiveAll(first);

    await admin.deleteTopics({ topics: [topics.output] });
    await eventually(async () => (!(await admin.listTopics()).includes(topics.output) ? true : undefined));
    // The broker may still be forgetting the old topic: create until the new one serves every partition.
    await eventually(async () => {
      await createTestTopics(admin, [topics.output]);
      return (await admin.fetchTopicOffsets(topics.output)).length === 3 ? true : undefined;
    });

    // Offsets restart at 0, onto keys that hold the first incarnation's objects.
    const second = batch('SECOND', 90);
    const metrics = await archiveAll(second);
    expect(metricValue(metrics, 'weblog_archiver_incarnation_mismatches_total')).toBeGreaterThan(0);
    // Restarted at the committed offset, which is not 0: it stays in the newest generation.
    const third = batch('THIRD', 90);
    await archiveAll(third);

    const archive = await readArchive(store, topicsDir, topics.output);
    expect(archive.problems).toBe(0);
    expect(
      differences(
        [...first, ...second, ...third].map((r) => r.value.event_id),
        archive.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });
    const generationOf = new Map(archive.records.map((r) => [r.value.event_id, r.generation]));
    expect(new Set(first.map((r) => generationOf.get(r.value.event_id)))).toEqual(new Set([0]));
    expect(new Set([...second, ...third].map((r) => generationOf.get(r.value.event_id)))).toEqual(new Set([1]));
  });
});
