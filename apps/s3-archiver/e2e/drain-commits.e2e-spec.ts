import { Kafka, Producer } from 'kafkajs';
import {
  aTransformedWebLog,
  caughtUp,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { LocalInfra, ServiceProcess } from '@weblog/local-infra';
import { differences, privateS3, privateStore, readArchive } from './archive-helpers';

/**
 * A draining archiver refuses new batches. A batch it refused must never let a later batch of
 * transaction markers alone (what a read-committed consumer sees of an aborted transaction)
 * carry the committed offset past records nobody archived: on SIGTERM under scale-in, those
 * records would be lost.
 */
describe('s3-archiver draining on SIGTERM', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  let aborting: Producer;
  let s3: LocalInfra;
  let s3Pid: number | undefined;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('archiver-drain');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    aborting = kafka.producer({ transactionalId: uniqueName('archiver-drain-tx'), idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([admin.connect(), producer.connect(), aborting.connect()]);
    s3 = await privateS3();
  });

  afterAll(async () => {
    if (s3Pid !== undefined) process.kill(s3Pid, 'SIGCONT');
    await Promise.all(services.splice(0).map((s) => s.kill()));
    await Promise.all([admin.disconnect(), producer.disconnect(), aborting.disconnect()]);
    await s3.stop();
  });

  async function startArchiver(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start('s3-archiver', env);
    services.push(service);
    await service.ready();
    return service;
  }

  const records = (count: number, prefix: string) =>
    Array.from({ length: count }, (_, i) => {
      const value = aTransformedWebLog({ ip: `198.51.100.${i % 50}`, url: `/${prefix}/${i}` });
      return { key: value.ip, value };
    });

  async function committed(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  }

  it('commits no offset past records it skipped while draining, even after a batch of transaction markers alone', async () => {
    const topics = isolatedTopics('archiver-drain');
    const groupId = uniqueName('archiver-drain');
    const topicsDir = uniqueName('archive');
    const store = privateStore(s3);
    const env = {
      ...topics.env,
      ...s3.env(),
      ARCHIVER_GROUP_ID: groupId,
      ARCHIVER_TOPICS_DIR: topicsDir,
      S3_BUCKET: 'weblog-archive',
      // For the line that says the drain began.
      LOG_LEVEL: 'log',
      // Nothing is written before the drain: partition 0's records stay buffered.
      ARCHIVER_FLUSH_SIZE: '1000',
      ARCHIVER_ROTATE_INTERVAL_MS: String(3600 * 1000),
      // The drain's upload must hang for as long as the drain may last, not give up first.
      S3_REQUEST_TIMEOUT_MS: String(3600 * 1000),
    };
    const archiver = await startArchiver(env);
    /** Offsets of the committed records produced, by partition: what must reach S3 before it is committed. */
    const produced = new Map<number, bigint[]>();
    const send = async (partition: number, batch: ReturnType<typeof records>) => {
      const [meta] = await producer.send({
        topic: topics.output,
        acks: -1,
        messages: batch.map((r) => ({ partition, key: r.key, value: JSON.stringify(r.value) })),
      });
      const base = BigInt(meta?.baseOffset ?? '-1');
      produced.set(partition, [...(produced.get(partition) ?? []), ...batch.map((_, i) => base + BigInt(i))]);
    };
    const buffered = records(5, 'BUFFERED');
    await send(0, buffered);
    await eventually(async () =>
      metricValue((await archiver.get('/metrics')).text, 'weblog_archiver_buffered_records') === buffered.length ? true : undefined,
    );

    // S3 stops answering (connections are accepted, requests hang): the drain's upload of partition 0 never ends.
    s3Pid = s3.pids().s3;
    if (s3Pid === undefined) throw new Error('the private S3 server has no pid');
    process.kill(s3Pid, 'SIGSTOP');
    const before = await committed(groupId, topics.output);
    const pid = archiver.pid;
    if (pid === undefined) throw new Error('the archiver has no pid');
    process.kill(pid, 'SIGTERM');
    await eventually(() => (archiver.logs.includes('shutting down') ? true : undefined));

    // Committed records the draining archiver is handed but does not archive, then an aborted
    // transaction: a read-committed consumer sees only its markers.
    const skipped = records(4, 'SKIPPED');
    await send(1, skipped);
    const transaction = await aborting.transaction();
    await transaction.send({
      topic: topics.output,
      messages: records(2, 'ABORTED').map((r) => ({ partition: 1, key: r.key, value: JSON.stringify(r.value) })),
    });
    await transaction.abort();

    // Until partition 1's committed offset moves or the archiver gives its drain up, record every commit seen.
    const highest = new Map(before);
    const sample = async () => {
      for (const [partition, offset] of await committed(groupId, topics.output))
        if (offset > (highest.get(partition) ?? -1n)) highest.set(partition, offset);
    };
    await eventually(async () => {
      await sample();
      return (highest.get(1) ?? -1n) !== (before.get(1) ?? -1n) || !archiver.running ? true : undefined;
    }, 60000);
    process.kill(s3Pid, 'SIGCONT');
    s3Pid = undefined;
    await archiver.waitForExit(60000);
    await sample();

    const archive = await readArchive(store, topicsDir, topics.output);
    const ends = new Map((await admin.fetchTopicOffsets(topics.output)).map((p) => [p.partition, BigInt(p.high)]));
    const archived = new Set(archive.records.map((r) => `${r.partition}/${r.offset}`));
    const bounds = [...ends].map(([partition, end]) => {
      const missing = (produced.get(partition) ?? []).filter((offset) => !archived.has(`${partition}/${offset}`));
      const firstMissing = missing.length > 0 ? missing.reduce((a, b) => (a < b ? a : b)) : end;
      return { partition, committed: highest.get(partition) ?? -1n, firstMissing };
    });
    const past = bounds.filter((b) => b.committed > b.firstMissing);
    expect(past).toEqual([]);

    // Nothing was lost: a new archiver takes up where the committed offsets say and archives every record once.
    await startArchiver({ ...env, ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
    await eventually(() => caughtUp(admin, groupId, topics.output), 60000);
    const after = await readArchive(store, topicsDir, topics.output);
    expect(
      differences(
        [...buffered, ...skipped].map((r) => r.value.event_id),
        after.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });
  });
});
