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
import { ServiceProcess } from '@weblog/local-infra';
import { ArchiveContents, differences, groupCommitted, readArchive, testStore } from './archive-helpers';

describe('s3-archiver against real Kafka and S3', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  const store = testStore();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('archiver-e2e');
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

  function setup(prefix: string, extra: Record<string, string> = {}) {
    const topics = isolatedTopics(prefix);
    const groupId = uniqueName(prefix);
    const topicsDir = uniqueName('archive');
    const env = { ...topics.env, ARCHIVER_GROUP_ID: groupId, ARCHIVER_TOPICS_DIR: topicsDir, S3_BUCKET: 'weblog-archive', ...extra };
    return { topics, groupId, topicsDir, env };
  }

  async function startArchiver(env: Record<string, string>, ready = true): Promise<ServiceProcess> {
    const service = await ServiceProcess.start('s3-archiver', env);
    services.push(service);
    if (ready) await service.ready();
    return service;
  }

  const records = (count: number, prefix = 'r') =>
    Array.from({ length: count }, (_, i) => {
      const value = aTransformedWebLog({ ip: `198.51.100.${i % 50}`, url: `/${prefix.toUpperCase()}/${i}` });
      return { key: value.ip, value, headers: { 'weblog-seq': String(i + 1) } };
    });

  it('writes 25 records of one partition as objects of 10 and 10 at once and 5 after the interval, then commits 25', async () => {
    const { topics, groupId, topicsDir, env } = setup('archiver-25', { ARCHIVER_ROTATE_INTERVAL_MS: '4000' });
    await startArchiver(env);
    const sent = records(25);
    const producedAt = Date.now();
    await producer.send({
      topic: topics.output,
      acks: -1,
      messages: sent.map((r) => ({ partition: 0, key: r.key, value: JSON.stringify(r.value) })),
    });
    const early = await eventually(async () => {
      const archive = await readArchive(store, topicsDir, topics.output);
      return archive.objects.length >= 2 ? archive : undefined;
    });
    expect(early.objects.map((o) => o.records.length)).toEqual([10, 10]);
    expect(Date.now() - producedAt).toBeLessThan(4000);
    const all = await eventually(async () => {
      const archive = await readArchive(store, topicsDir, topics.output);
      return archive.objects.length === 3 ? archive : undefined;
    });
    expect(Date.now() - producedAt).toBeGreaterThanOrEqual(4000);
    expect(all.objects.map((o) => o.records.length)).toEqual([10, 10, 5]);
    expect(all.records.map((r) => r.offset)).toEqual(Array.from({ length: 25 }, (_, i) => BigInt(i)));
    expect(
      differences(
        sent.map((r) => r.value.event_id),
        all.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });
    await eventually(async () => ((await groupCommitted(admin, groupId, topics.output, 0)) === 25 ? true : undefined));
  });

  it('flushes an idle partition within the rotate interval plus one second (gzip, time layout)', async () => {
    const { topics, topicsDir, env } = setup('archiver-idle', {
      ARCHIVER_ROTATE_INTERVAL_MS: '3000',
      ARCHIVER_GZIP: 'true',
      ARCHIVER_KEY_LAYOUT: 'time',
    });
    await startArchiver(env);
    const sent = records(3);
    await producer.send({
      topic: topics.output,
      acks: -1,
      messages: sent.map((r) => ({ partition: 1, key: r.key, value: JSON.stringify(r.value) })),
    });
    const acknowledgedAt = Date.now();
    const archive = await eventually(
      async () => {
        const found = await readArchive(store, topicsDir, topics.output);
        return found.records.length === 3 ? found : undefined;
      },
      10000,
      50,
    );
    expect(Date.now() - acknowledgedAt).toBeLessThanOrEqual(3000 + 1000);
    // Filed by the records' own time (their timestamp_utc), not by when they arrived.
    const utc = sent[0]?.value.timestamp_utc ?? '';
    expect(archive.objects.map((o) => o.key)).toEqual([
      expect.stringMatching(new RegExp(`/dt=${utc.slice(0, 10)}/hour=${utc.slice(11, 13)}/partition=1/[^/]+\\.jsonl\\.gz$`)),
    ]);
    expect(archive.records.map((r) => r.value.event_id)).toEqual(sent.map((r) => r.value.event_id));
  });

  it('loses and duplicates nothing in S3 when SIGKILLed several times in the middle of a run', async () => {
    const { topics, groupId, topicsDir, env } = setup('archiver-crash', { ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
    const sent = records(20000, 'crash');
    const producing = produceJson(producer, topics.output, sent, { batchSize: 250, perSecond: 2500 });
    let archiver = await startArchiver(env);
    for (let kill = 1; kill <= 3; kill++) {
      const target = kill * 4000;
      await eventually(
        async () =>
          metricValue((await archiver.get('/metrics')).text, 'weblog_archiver_records_archived_total') >= 1000 ? true : undefined,
        60000,
      );
      await eventually(async () => {
        const committed = await Promise.all([0, 1, 2].map((p) => groupCommitted(admin, groupId, topics.output, p)));
        return committed.reduce((a, b) => a + Math.max(b, 0), 0) >= target ? true : undefined;
      }, 60000);
      await archiver.kill();
      archiver = await startArchiver(env);
    }
    await producing;
    await eventually(() => caughtUp(admin, groupId, topics.output), 120000);
    const archive = await readArchive(store, topicsDir, topics.output);
    expect(
      differences(
        sent.map((r) => r.value.event_id),
        archive.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });
    expect(archive.problems).toBe(0);
  });

  it('loses and duplicates nothing when a second instance joins and leaves under load (1 -> 2 -> 1)', async () => {
    const { topics, groupId, topicsDir, env } = setup('archiver-scale', { ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
    // 30 s of load, so both rebalances happen while records keep arriving.
    const sent = records(18000, 'scale');
    let produced = false;
    const producing = produceJson(producer, topics.output, sent, { batchSize: 100, perSecond: 600 }).then(() => (produced = true));
    const first = await startArchiver(env);
    await eventually(
      async () => (metricValue((await first.get('/metrics')).text, 'weblog_archiver_records_archived_total') >= 1500 ? true : undefined),
      60000,
    );
    const second = await startArchiver(env);
    await eventually(
      async () => (metricValue((await second.get('/metrics')).text, 'weblog_archiver_records_archived_total') >= 600 ? true : undefined),
      60000,
    );
    expect(await second.stop()).toBe(0);
    expect(produced).toBe(false);
    await producing;
    await eventually(() => caughtUp(admin, groupId, topics.output), 120000);
    const archive = await readArchive(store, topicsDir, topics.output);
    expect(
      differences(
        sent.map((r) => r.value.event_id),
        archive.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });
  });

  it('does not move the committed offset while S3 rejects every upload, and is not ready', async () => {
    const { topics, groupId, env } = setup('archiver-reject', {
      S3_BUCKET: uniqueName('no-such-bucket'),
      ARCHIVER_ROTATE_INTERVAL_MS: '500',
    });
    const archiver = await startArchiver(env, false);
    await eventually(async () => ((await archiver.get('/health/live').catch(() => undefined))?.status === 200 ? true : undefined));
    await produceJson(producer, topics.output, records(100, 'rejected'));
    await eventually(
      async () => (metricValue((await archiver.get('/metrics')).text, 'weblog_archiver_upload_retries_total') >= 3 ? true : undefined),
      60000,
    );
    expect((await archiver.get('/health/ready')).status).toBe(503);
    for (const partition of [0, 1, 2]) expect(await groupCommitted(admin, groupId, topics.output, partition)).toBe(-1);
    expect(archiver.running).toBe(true);
  });

  it('dead-letters records that are not valid TransformedWebLog and still commits past them', async () => {
    const { topics, groupId, topicsDir, env } = setup('archiver-dlq', { ARCHIVER_ROTATE_INTERVAL_MS: '500' });
    await startArchiver(env);
    const good = records(4, 'good');
    await producer.send({
      topic: topics.output,
      acks: -1,
      messages: [
        { partition: 0, key: 'a', value: JSON.stringify(good[0]?.value) },
        { partition: 0, key: 'a', value: '{"not":"a log"}' },
        { partition: 0, key: 'a', value: JSON.stringify({ ...good[1]?.value, url: '/lower-case' }) },
        { partition: 0, key: 'a', value: JSON.stringify(good[2]?.value) },
      ],
    });
    await eventually(async () => ((await groupCommitted(admin, groupId, topics.output, 0)) === 4 ? true : undefined));
    const archive = await readArchive(store, topicsDir, topics.output);
    expect(archive.records.map((r) => r.value.event_id)).toEqual([good[0]?.value.event_id, good[2]?.value.event_id]);
    const offsets = await admin.fetchTopicOffsets(topics.deadLetter);
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(2);
  });

  describe('objects in windows of flush size offsets, written side by side', () => {
    /** [first, last] offsets of each object, in offset order. */
    const spans = (archive: ArchiveContents) =>
      archive.objects.map((o) => [Number(o.records[0]?.offset ?? -1), Number(o.records[o.records.length - 1]?.offset ?? -1)]);

    /**
     * A first archiver of `flushSizeBefore` archives 95 records and stops; then a second one, of
     * flush size 10, takes the partition with 405 more. Their groups differ, so nothing the first
     * wrote is committed for the second: it meets those objects beyond its committed offset, as
     * after a crash between upload and commit or beside a stale instance.
     */
    async function handOver(flushSizeBefore: number) {
      const { topics, groupId, topicsDir, env } = setup(`windows-${flushSizeBefore}`, { ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
      const sent = records(500, 'windows');
      const send = (from: number, to: number) =>
        producer.send({
          topic: topics.output,
          acks: -1,
          messages: sent.slice(from, to).map((r) => ({ partition: 0, key: r.key, value: JSON.stringify(r.value) })),
        });
      const archived = (count: number) =>
        eventually(async () => ((await readArchive(store, topicsDir, topics.output)).records.length >= count ? true : undefined), 60000);
      const earlier = await startArchiver({
        ...env,
        ARCHIVER_GROUP_ID: uniqueName('windows-earlier'),
        ARCHIVER_FLUSH_SIZE: String(flushSizeBefore),
      });
      await send(0, 95);
      await archived(95);
      expect(await earlier.stop()).toBe(0);
      await send(95, 500);
      const later = await startArchiver(env);
      await archived(500);
      await eventually(async () => ((await groupCommitted(admin, groupId, topics.output, 0)) === 500 ? true : undefined));
      const archive = await readArchive(store, topicsDir, topics.output);
      expect(
        differences(
          sent.map((r) => r.value.event_id),
          archive.records,
        ),
      ).toEqual({ missing: [], duplicated: [] });
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
});
