import { Kafka, Producer } from 'kafkajs';
import {
  aTransformedWebLog,
  caughtUp,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  produceJson,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { LocalInfra, ServiceProcess } from '@weblog/local-infra';
import { differences, groupCommitted, privateS3, privateStore, readArchive } from './archive-helpers';

describe('s3-archiver while the S3 server is down', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  let s3: LocalInfra;
  let archiver: ServiceProcess | undefined;

  beforeAll(async () => {
    kafka = testKafka('archiver-outage');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
    s3 = await privateS3();
  });

  afterAll(async () => {
    await archiver?.kill();
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    await s3.stop();
  });

  async function committedTotal(groupId: string, topic: string): Promise<number> {
    const committed = await Promise.all([0, 1, 2].map((p) => groupCommitted(admin, groupId, topic, p)));
    return committed.reduce((sum, offset) => sum + Math.max(offset, 0), 0);
  }

  it('survives 20 s without S3: no crash, no commit beyond S3, bounded memory, everything archived once after', async () => {
    const topics = isolatedTopics('archiver-outage');
    const groupId = uniqueName('archiver-outage');
    const topicsDir = uniqueName('archive');
    const env = s3.env();
    const store = privateStore(s3);
    const bufferCap = 512 * 1024;
    archiver = await ServiceProcess.start('s3-archiver', {
      ...topics.env,
      ...env,
      ARCHIVER_GROUP_ID: groupId,
      ARCHIVER_TOPICS_DIR: topicsDir,
      ARCHIVER_ROTATE_INTERVAL_MS: '1000',
      ARCHIVER_MAX_BUFFER_BYTES: String(bufferCap),
    });
    await archiver.ready();
    const sent = Array.from({ length: 30000 }, (_, i) => {
      const value = aTransformedWebLog({ ip: `198.51.100.${i % 50}`, url: `/OUTAGE/${i}` });
      return { key: value.ip, value };
    });
    const producing = produceJson(producer, topics.output, sent, { batchSize: 250, perSecond: 1000 });
    await eventually(async () => ((await committedTotal(groupId, topics.output)) >= 3000 ? true : undefined), 60000);

    await s3.stopS3();
    const outageStarted = Date.now();
    await eventually(async () => ((await archiver?.get('/health/ready'))?.status === 503 ? true : undefined), 15000);
    const committedSamples: number[] = [];
    let peakBuffered = 0;
    let peakRss = 0;
    // The outage lasts 20 s by definition of the scenario; meanwhile sample commits and memory.
    while (Date.now() - outageStarted < 20000) {
      const metrics = (await archiver.get('/metrics')).text;
      peakBuffered = Math.max(peakBuffered, metricValue(metrics, 'weblog_archiver_buffered_bytes'));
      peakRss = Math.max(peakRss, metricValue(metrics, 'process_resident_memory_bytes'));
      committedSamples.push(await committedTotal(groupId, topics.output));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await s3.startS3();
    expect(archiver.running).toBe(true);
    // Nothing was committed while nothing could be written.
    expect(new Set(committedSamples.slice(2)).size).toBe(1);
    expect(peakBuffered).toBeLessThanOrEqual(bufferCap + 64 * 1024);
    expect(peakRss).toBeLessThan(400 * 1024 * 1024);

    await producing;
    await eventually(() => caughtUp(admin, groupId, topics.output), 180000);
    await eventually(async () => ((await archiver?.get('/health/ready'))?.status === 200 ? true : undefined));
    const archive = await readArchive(store, topicsDir, topics.output);
    expect(
      differences(
        sent.map((r) => r.value.event_id),
        archive.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });
  });
});
