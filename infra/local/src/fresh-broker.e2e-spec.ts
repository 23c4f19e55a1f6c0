import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Kafka, logLevel } from 'kafkajs';
import { eventually } from '@weblog/kafka-common/testing';
import { KafkaBatch, KafkaBatchTransport, ReadinessRegistry } from '@weblog/kafka-common';
import { LocalInfra, startLocalInfra } from './index';

const KEY = 'fresh.records';
const RECORDS = 100;
let consumed = 0;

@Controller()
class CountingController {
  @EventPattern(KEY)
  handle(@Payload() batch: KafkaBatch): Promise<void> {
    consumed += batch.messages.length;
    return Promise.resolve();
  }
}

@Module({ controllers: [CountingController] })
class CountingModule {}

/**
 * A broker that has just started has no group coordinator yet: the first FindCoordinator creates
 * the offsets topic and is answered "not available" until it loads. kafkajs gives a consumer that
 * meets this up for good (a non-retriable error), which left a service alive but consuming nothing
 * after a broker restart on a busy machine. Here every client retry is turned off, so the first
 * such answer crashes the consumer at once.
 */
describe('a consumer that meets a broker still loading its group coordinator', () => {
  let infra: LocalInfra | undefined;
  let app: INestMicroservice | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await infra?.stop();
    infra = undefined;
  });

  /** A broker of its own (the shared S3 server is adopted), a topic and RECORDS records in it. */
  async function freshBroker(): Promise<Kafka> {
    const shared = process.env['KAFKA_BROKERS'];
    delete process.env['KAFKA_BROKERS'];
    try {
      infra = await startLocalInfra({ handleSignals: false, log: () => undefined });
    } finally {
      if (shared !== undefined) process.env['KAFKA_BROKERS'] = shared;
    }
    const setup = new Kafka({ clientId: 'fresh-broker-setup', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
    const admin = setup.admin();
    const producer = setup.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'fresh', numPartitions: 2, replicationFactor: 1 }] });
      await producer.send({ topic: 'fresh', acks: -1, messages: Array.from({ length: RECORDS }, (_, i) => ({ value: `r${i}` })) });
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
    return new Kafka({ clientId: 'fresh-broker', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  }

  async function listen(kafka: Kafka, extra: Partial<ConstructorParameters<typeof KafkaBatchTransport>[0]>): Promise<void> {
    const transport = new KafkaBatchTransport({
      kafka,
      groupId: 'fresh-group',
      consumerName: 'fresh-broker-e2e',
      subscriptions: [{ key: KEY, topic: 'fresh' }],
      logger: { log: () => undefined, error: () => undefined, warn: () => undefined },
      ...extra,
    });
    app = await NestFactory.createMicroservice(CountingModule, { strategy: transport, logger: false });
    await app.listen();
  }

  /** The transport's readiness check, as the service's /health/ready runs it. */
  function consumerReadiness(readiness: ReadinessRegistry): () => Promise<void> {
    const check = readiness.entries().find(([name]) => name === 'kafka-consumer')?.[1];
    if (!check) throw new Error('the transport registered no readiness check');
    return check;
  }

  it('is given up by kafkajs, and the transport says so (unready, then lost) instead of running on without it', async () => {
    const kafka = await freshBroker();
    let lost: Error | undefined;
    const readiness = new ReadinessRegistry();
    await listen(kafka, { consumerRestarts: 0, onConsumerLost: (error) => (lost = error), readiness });
    const error = await eventually(() => lost, 60000);
    expect(error.name).toBe('KafkaJSGroupCoordinatorNotFound');
    await expect(consumerReadiness(readiness)()).rejects.toThrow('consumer crashed');
  });

  it('is replaced by a new consumer, which reads every record once the coordinator has loaded', async () => {
    const kafka = await freshBroker();
    consumed = 0;
    let lost: Error | undefined;
    const readiness = new ReadinessRegistry();
    await listen(kafka, { onConsumerLost: (error) => (lost = error), readiness });
    await eventually(() => (consumed >= RECORDS || lost ? true : undefined), 120000);
    expect(lost).toBeUndefined();
    expect(consumed).toBe(RECORDS);
    // The new consumer joined the group: ready again.
    await expect(consumerReadiness(readiness)()).resolves.toBeUndefined();
  });
});
