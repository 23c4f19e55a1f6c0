import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Kafka, Producer } from 'kafkajs';
import { decode, TransformedWebLogContract } from '@weblog/kafka-common';
import {
  aTransformedWebLog,
  caughtUp,
  consumeAll,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { runCommand, serviceEnvironment, ServiceProcess } from '@weblog/local-infra';
import { readArchive, testStore } from './archive-helpers';

describe('replay of the S3 archive into reprocessed-data', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  const store = testStore();
  const topics = isolatedTopics('replay');
  const groupId = uniqueName('replay-archiver');
  const topicsDir = uniqueName('archive');
  const archiveEnv = { ...topics.env, ARCHIVER_TOPICS_DIR: topicsDir, S3_BUCKET: 'weblog-archive' };

  beforeAll(async () => {
    kafka = testKafka('replay-e2e');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
    // Archive 600 records across three partitions, then stop the archiver.
    const archiver = await ServiceProcess.start('s3-archiver', {
      ...archiveEnv,
      ARCHIVER_GROUP_ID: groupId,
      ARCHIVER_ROTATE_INTERVAL_MS: '500',
    });
    await archiver.ready();
    const statuses = [200, 201, 301, 404, 500, 503];
    await producer.send({
      topic: topics.output,
      acks: -1,
      messages: Array.from({ length: 600 }, (_, i) => {
        const value = aTransformedWebLog({
          ip: `192.0.2.${i % 25}`,
          status_code: statuses[i % statuses.length] ?? 200,
          url: `/REPLAY/${i}`,
        });
        return { key: value.ip, value: JSON.stringify(value), headers: { 'weblog-seq': String(i + 1) } };
      }),
    });
    await eventually(() => caughtUp(admin, groupId, topics.output));
    expect(await archiver.stop()).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  const replay = (target: string, args: string[]) =>
    runCommand('s3-archiver', 'replay.js', args, serviceEnvironment({ ...archiveEnv, KAFKA_TOPIC_REPROCESSED: target }));

  it('produces exactly the archive, in the same order per partition, with the same keys', async () => {
    const target = uniqueName('reprocessed');
    const result = await replay(target, []);
    expect(result.status).toBe(0);
    const archive = await readArchive(store, topicsDir, topics.output);
    expect(archive.records).toHaveLength(600);
    const replayed = await consumeAll(kafka, target);
    for (const partition of [0, 1, 2]) {
      const expected = archive.records.filter((r) => r.partition === partition).map((r) => [r.key, r.value.event_id]);
      const actual = replayed
        .filter((r) => r.partition === partition)
        .map((r) => {
          const decoded = decode(TransformedWebLogContract, r.message.value);
          return [r.message.key?.toString(), decoded.ok ? decoded.value.event_id : 'invalid'];
        });
      expect(actual).toEqual(expected);
    }
    expect(JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({ recordsProduced: 600, problems: 0 });
  });

  it('selects exactly the matching records with a filter, and skips and reports a corrupt object', async () => {
    const corruptKey = `${topicsDir}/${topics.output}/partition=1/${topics.output}+1+99999999999999999999.jsonl.gz`;
    await store.client.send(new PutObjectCommand({ Bucket: 'weblog-archive', Key: corruptKey, Body: 'this is not gzip' }));
    const target = uniqueName('reprocessed-5xx');
    const result = await replay(target, ['--filter', 'status_code>=500']);
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toContain(corruptKey);
    const archive = await readArchive(store, topicsDir, topics.output);
    const expected = archive.records
      .filter((r) => r.value.status_code >= 500)
      .map((r) => r.value.event_id)
      .sort();
    const replayed = await consumeAll(kafka, target);
    const actual = replayed
      .map((r) => decode(TransformedWebLogContract, r.message.value))
      .map((d) => (d.ok ? d.value.event_id : 'invalid'))
      .sort();
    expect(expected.length).toBe(200);
    expect(actual).toEqual(expected);
    expect(JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({ recordsProduced: 200, problems: 1 });
  });

  it('resumes where an earlier run with the same checkpoint stopped', async () => {
    const target = uniqueName('reprocessed-resume');
    const first = await replay(target, ['--partitions', '0', '--checkpoint', target]);
    expect(first.status).toBe(0);
    const again = await replay(target, ['--resume', '--checkpoint', target]);
    expect(again.status).toBe(0);
    const replayed = await consumeAll(kafka, target);
    const ids = replayed.map((r) => decode(TransformedWebLogContract, r.message.value)).map((d) => (d.ok ? d.value.event_id : 'invalid'));
    // Partition 0 came in the first run only; the resumed run added 1 and 2 without repeating 0.
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(600);
  });
});
