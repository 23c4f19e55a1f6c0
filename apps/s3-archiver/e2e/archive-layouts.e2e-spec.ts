import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
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
  metricValue,
  produceJson,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { preparePythonPackages, runCommand, serviceEnvironment, ServiceProcess } from '@weblog/local-infra';
import { topicPrefix } from '@weblog/s3-archive';
import { differences, readArchive, testStore } from './archive-helpers';

const duckdbDir = path.join(__dirname, 'duckdb');
const execFileAsync = promisify(execFile);

/** Records whose event times run in order from `start`, `stepMs` apart, keyed by ip as the pipeline keys them. */
function timedRecords(count: number, start: string, stepMs: number, tag: string) {
  return Array.from({ length: count }, (_, i) => {
    const utc = new Date(Date.parse(start) + i * stepMs).toISOString();
    const value = aTransformedWebLog({ ip: `203.0.113.${i % 40}`, url: `/${tag.toUpperCase()}/${i}`, timestamp: utc, timestamp_utc: utc });
    return { key: value.ip, value, headers: { 'weblog-seq': String(i + 1) } };
  });
}

const hourOf = (utc: string) => `dt=${utc.slice(0, 10)}/hour=${utc.slice(11, 13)}`;

describe('the archive as the data lake reads it', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  let pythonPath: string;
  const store = testStore();
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    pythonPath = await preparePythonPackages('e2e-archive-duckdb', path.join(duckdbDir, 'requirements.txt'), (line) =>
      process.stderr.write(`${line}\n`),
    );
    kafka = testKafka('archive-layouts-e2e');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
  }, 300000);

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  function setup(prefix: string, extra: Record<string, string>) {
    const topics = isolatedTopics(prefix);
    const groupId = uniqueName(prefix);
    const topicsDir = uniqueName('archive');
    const env = { ...topics.env, ARCHIVER_GROUP_ID: groupId, ARCHIVER_TOPICS_DIR: topicsDir, S3_BUCKET: 'weblog-archive', ...extra };
    return { topics, groupId, topicsDir, env };
  }

  async function startArchiver(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start('s3-archiver', env);
    services.push(service);
    await service.ready();
    return service;
  }

  /** DuckDB's counts per dt/hour of the topic's archive, read with hive partitioning from a copy that keeps the keys. */
  async function duckdbCounts(topicsDir: string, topic: string): Promise<Record<string, number>> {
    const root = await mkdtemp(path.join(tmpdir(), 'archive-duckdb-'));
    try {
      for await (const listed of store.list(topicPrefix(topicsDir, topic))) {
        const object = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: listed.key }));
        const file = path.join(root, listed.key);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, (await object.Body?.transformToByteArray()) ?? new Uint8Array());
      }
      const { stdout } = await execFileAsync(
        'python3',
        [path.join(duckdbDir, 'count_by_partition.py'), path.join(root, topicsDir, topic)],
        {
          env: { ...process.env, PYTHONPATH: pythonPath },
        },
      );
      return JSON.parse(stdout) as Record<string, number>;
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  it('files every record under the hour of its own time across a day boundary, once, through a SIGKILL, and DuckDB counts each hour as produced', async () => {
    const { topics, groupId, topicsDir, env } = setup('archive-hours', {
      ARCHIVER_KEY_LAYOUT: 'time',
      ARCHIVER_FILE_NAMING: 'connect',
      ARCHIVER_RECORD_METADATA: 'false',
      ARCHIVER_GZIP: 'true',
      ARCHIVER_FLUSH_SIZE: '25',
      ARCHIVER_ROTATE_INTERVAL_MS: '1000',
    });
    // Seven hours of event time, 21:10 on 23 November to 03:09 on the 24th, 9 s apart.
    const sent = timedRecords(2400, '2026-11-23T21:10:00.000Z', 9000, 'hours');
    const producing = produceJson(producer, topics.output, sent, { batchSize: 50, perSecond: 300 });
    const first = await startArchiver(env);
    await eventually(
      async () => (metricValue((await first.get('/metrics')).text, 'weblog_archiver_records_archived_total') >= 600 ? true : undefined),
      60000,
    );
    await first.kill();
    await startArchiver(env);
    await producing;
    await eventually(() => caughtUp(admin, groupId, topics.output), 120000);

    const archive = await readArchive(store, topicsDir, topics.output);
    expect(archive.problems).toBe(0);
    const misfiled = archive.objects.flatMap((o) =>
      o.records.filter((r) => !o.key.includes(`/${hourOf(r.value.timestamp_utc)}/`)).map((r) => `${r.value.timestamp_utc} in ${o.key}`),
    );
    expect(misfiled).toEqual([]);
    expect(archive.objects.every((o) => /\+\d{10}\.json\.gz$/.test(o.key))).toBe(true);
    expect(
      differences(
        sent.map((r) => r.value.event_id),
        archive.records,
      ),
    ).toEqual({ missing: [], duplicated: [] });

    const produced: Record<string, number> = {};
    for (const r of sent) {
      const hour = hourOf(r.value.timestamp_utc).replace(/dt=|hour=/g, '');
      produced[hour] = (produced[hour] ?? 0) + 1;
    }
    expect(Object.keys(produced)).toHaveLength(7);
    expect(await duckdbCounts(topicsDir, topics.output)).toEqual(produced);
  });

  describe.each([
    [
      'connect naming, bare JSON values, time layout',
      { ARCHIVER_FILE_NAMING: 'connect', ARCHIVER_RECORD_METADATA: 'false', ARCHIVER_KEY_LAYOUT: 'time' },
    ],
    ['connect naming, records with coordinates, gzip, offset layout', { ARCHIVER_FILE_NAMING: 'connect', ARCHIVER_GZIP: 'true' }],
    [
      'archiver naming, bare JSON values, daily time partitions in Paris',
      {
        ARCHIVER_RECORD_METADATA: 'false',
        ARCHIVER_KEY_LAYOUT: 'time',
        ARCHIVER_PATH_FORMAT: "'year'=YYYY/'month'=MM/'day'=dd",
        ARCHIVER_PARTITION_DURATION_MS: '86400000',
        ARCHIVER_TIMEZONE: 'Europe/Paris',
      },
    ],
  ])('replay of an archive in %s', (_name, options) => {
    it('produces every archived record once, in the order of its original partition', async () => {
      const { topics, groupId, topicsDir, env } = setup('archive-replay', { ...options, ARCHIVER_ROTATE_INTERVAL_MS: '500' });
      await startArchiver(env);
      const sent = timedRecords(300, '2026-11-23T22:30:00.000Z', 60000, 'replay');
      await produceJson(producer, topics.output, sent, { batchSize: 100 });
      await eventually(() => caughtUp(admin, groupId, topics.output), 60000);
      const archive = await readArchive(store, topicsDir, topics.output);
      expect(archive.records).toHaveLength(300);

      const target = uniqueName('reprocessed-layout');
      const result = await runCommand('s3-archiver', 'replay.js', [], serviceEnvironment({ ...env, KAFKA_TOPIC_REPROCESSED: target }));
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({ recordsProduced: 300, problems: 0 });
      const replayed = await consumeAll(kafka, target);
      const produced = await consumeAll(kafka, topics.output);
      for (const partition of [0, 1, 2]) {
        const ids = (records: typeof replayed) =>
          records
            .filter((r) => r.partition === partition)
            .map((r) => decode(TransformedWebLogContract, r.message.value))
            .map((d) => (d.ok ? d.value.event_id : 'invalid'));
        expect(ids(replayed)).toEqual(ids(produced));
      }
    });
  });
});
