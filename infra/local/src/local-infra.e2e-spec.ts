import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import { LocalInfra, startLocalInfra } from './index';
import { accepts } from './ports';
import { orphanGuard } from './guard';
import { isAlive } from './processes';

/** Produces one record and reads it back through a consumer group, from a topic created here. */
async function roundTrip(brokers: string[], topic: string, value: string): Promise<string[]> {
  const kafka = new Kafka({ clientId: 'local-infra-spec', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true });
  const consumer = kafka.consumer({ groupId: `spec-${randomUUID()}` });
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    }
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no record "${value}" within 60 s; saw ${JSON.stringify(seen)}`)), 60000);
      consumer
        .run({
          eachMessage: ({ message }) => {
            seen.push(message.value?.toString('utf8') ?? '');
            if (seen.includes(value)) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    return seen;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function clusterAnswers(brokers: string[]): Promise<number> {
  const admin = new Kafka({ clientId: 'local-infra-spec', brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const httpStatus = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

describe('startLocalInfra (real Kafka and MinIO)', () => {
  const bucket = 'local-infra-spec';
  const topic = 'local-infra-spec';
  const adopted = ['KAFKA_BROKERS', 'S3_ENDPOINT'] as const;
  const saved = new Map<string, string | undefined>();
  let infra: LocalInfra;
  let s3: S3Client;
  let ports: number[] = [];
  let pids: number[] = [];
  let watchdog: number | undefined;

  beforeAll(async () => {
    // Under the e2e configuration the global setup already exported servers; this suite must launch its own.
    for (const name of adopted) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    infra = await startLocalInfra({ buckets: [bucket] });
    s3 = new S3Client({ ...infra.s3, credentials: { accessKeyId: infra.s3.accessKeyId, secretAccessKey: infra.s3.secretAccessKey } });
    ports = [...infra.kafkaBrokers, infra.s3.endpoint].map((address) => Number(/:(\d+)$/.exec(address)?.[1]));
  });

  afterAll(async () => {
    s3?.destroy();
    await infra?.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('launches both servers and describes them for services', () => {
    expect(infra.launched).toEqual({ kafka: true, s3: true });
    expect(infra.kafkaBrokers).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(infra.env()).toEqual({
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      S3_ENDPOINT: infra.s3.endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: infra.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: infra.s3.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    const { kafka, s3: minio } = infra.pids();
    expect(kafka).toEqual(expect.any(Number));
    expect(minio).toEqual(expect.any(Number));
    pids = [kafka as number, minio as number];
    watchdog = orphanGuard.watchdogPid;
    expect(watchdog).toEqual(expect.any(Number));
  });

  it('produces and consumes a record through Kafka', async () => {
    await expect(roundTrip(infra.kafkaBrokers, topic, 'first')).resolves.toContain('first');
  });

  it('stores objects and honours conditional writes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: 'hello' }));
    const read = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
    await expect(read.Body?.transformToString()).resolves.toBe('hello');

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once.txt', Body: 'one', IfNoneMatch: '*' }));
    const second = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'once.txt', Body: 'two', IfNoneMatch: '*' }))
      .catch((error: unknown) => error);
    expect(httpStatus(second)).toBe(412);
  });

  it('restarts Kafka on the same port with its data', async () => {
    const before = infra.kafkaBrokers;
    await infra.stopKafka();
    expect(infra.pids().kafka).toBeUndefined();
    await expect(accepts(Number(ports[0]))).resolves.toBe(false);

    await infra.startKafka();
    expect(infra.kafkaBrokers).toEqual(before);
    await expect(clusterAnswers(infra.kafkaBrokers)).resolves.toBe(1);
    // The first record survived the restart, so the data directory was kept.
    await expect(roundTrip(infra.kafkaBrokers, topic, 'second')).resolves.toEqual(expect.arrayContaining(['first', 'second']));
    pids[0] = infra.pids().kafka as number;
  });

  it('restarts S3 on the same port with its data and credentials', async () => {
    await infra.stopS3();
    expect(infra.pids().s3).toBeUndefined();
    const during = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' })).catch((error: unknown) => error);
    expect(during).toBeInstanceOf(Error);

    await infra.startS3();
    const read = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
    await expect(read.Body?.transformToString()).resolves.toBe('hello');
    pids[1] = infra.pids().s3 as number;
  });

  it('stops everything, releasing ports and ending processes, and can be stopped twice', async () => {
    const runDir = infra.runDir;
    await infra.stop();
    await infra.stop();
    for (const port of ports) await expect(accepts(port)).resolves.toBe(false);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    // Nothing left to guard, so the watchdog was dismissed too.
    expect(orphanGuard.watchdogPid).toBeUndefined();
    const deadline = Date.now() + 5000;
    while (isAlive(watchdog as number) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(isAlive(watchdog as number)).toBe(false);
    if (process.env['WEBLOG_KEEP_RUN_DIR'] !== '1') expect(runDir && existsSync(runDir)).toBe(false);
    await expect(infra.startKafka()).rejects.toThrow('already stopped');
  });
});
