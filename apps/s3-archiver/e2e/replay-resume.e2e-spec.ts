import { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { decode, TransformedWebLogContract } from '@weblog/kafka-common';
import { aTransformedWebLog, consumeAll, eventually, isolatedTopics, testKafka, uniqueName } from '@weblog/kafka-common/testing';
import { runCommand, serviceEnvironment, serviceMain, SupervisedProcess as WatchedProcess } from '@weblog/local-infra';
import { archiveLine, objectKey } from '@weblog/s3-archive';
import { testStore } from './archive-helpers';

describe('replay interrupted in the middle of an object', () => {
  let kafka: Kafka;
  let admin: Admin;
  const store = testStore();
  const topics = isolatedTopics('replay-resume');
  const topicsDir = uniqueName('archive');
  const env = serviceEnvironment({ ...topics.env, ARCHIVER_TOPICS_DIR: topicsDir, S3_BUCKET: 'weblog-archive' });
  const expected: string[] = [];

  /** One object per (partition, count): large enough that its replay takes many produce requests. */
  async function archive(partition: number, count: number): Promise<void> {
    const values = Array.from({ length: count }, (_, i) =>
      aTransformedWebLog({ ip: `203.0.113.${i % 200}`, url: `/RESUME/${partition}/${i}/${'X'.repeat(200)}` }),
    );
    const lines = values.map((value, i) => {
      const message: KafkaMessage = {
        offset: String(i),
        timestamp: '1700000000000',
        key: Buffer.from(value.ip),
        value: null,
        headers: {},
        attributes: 0,
      };
      return archiveLine(topics.output, partition, message, value, true);
    });
    const format = { layout: 'offset', topicsDir, naming: 'archiver', zeroPadWidth: 10, gzip: true } as const;
    const outcome = await store.putIfAbsent(
      objectKey(format, { topic: topics.output, partition, firstOffset: 0n }, ''),
      lines,
      { topic: topics.output, partition, firstOffset: 0n, lastOffset: BigInt(count - 1), recordCount: count },
      true,
    );
    expect(outcome.created).toBe(true);
    expected.push(...values.map((v) => v.event_id));
  }

  beforeAll(async () => {
    kafka = testKafka('replay-resume-e2e');
    admin = kafka.admin();
    await admin.connect();
    await archive(0, 40000);
    await archive(1, 300);
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  const produced = async (): Promise<number> => {
    const offsets = await admin.fetchTopicOffsets(topics.reprocessed).catch(() => []);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  };

  it('after a SIGKILL with part of an object produced, the resumed run repeats no record and misses none', async () => {
    const replay = WatchedProcess.spawn(
      'replay',
      process.execPath,
      [serviceMain('s3-archiver', 'replay.js'), '--checkpoint', 'crash'],
      env,
    );
    // Killed as soon as some records of the large object are in the topic, well before its end.
    const seen = await eventually(
      async () => {
        if (!replay.running) throw new Error(`replay ended before it was killed:\n${replay.logs}`);
        const count = await produced();
        return count > 0 ? count : undefined;
      },
      120000,
      5,
    );
    await replay.kill();
    const atKill = await produced();
    expect(seen).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(40000);

    const resumed = await runCommand('s3-archiver', 'replay.js', ['--resume', '--checkpoint', 'crash'], env);
    expect(resumed.status === 0 ? 'exit 0' : `exit ${String(resumed.status)}: ${resumed.stderr}`).toBe('exit 0');
    const ids = (await consumeAll(kafka, topics.reprocessed))
      .map((r) => decode(TransformedWebLogContract, r.message.value))
      .map((d) => (d.ok ? d.value.event_id : 'invalid'));
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const repeated = [...counts].filter(([, n]) => n > 1).length;
    const missing = expected.filter((id) => !counts.has(id)).length;
    expect({ repeated, missing, total: ids.length }).toEqual({ repeated: 0, missing: 0, total: expected.length });
  });
});
