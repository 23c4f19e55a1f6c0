import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Kafka, Producer } from 'kafkajs';
import {
  BatchResult,
  defineContract,
  KafkaBatch,
  KafkaBatchTransport,
  MetricsService,
  publication,
  TopicDefinition,
  topicRef,
} from '@weblog/kafka-common';
import {
  committedOffsets,
  consumeAll,
  createTestTopics,
  eventually,
  LostAnswers,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { LocalInfra } from '@weblog/local-infra';
import { privateInfra } from './suite';

const API_END_TXN = 26;
const KEY = 'records';
const Copied: TopicDefinition<{ value: string }> = {
  key: 'copied',
  defaultName: 'copied',
  nameVariable: 'COPIED',
  contract: defineContract('copied', z.object({ value: z.string() })),
};
let copyTo = '';

@Controller()
class CopyController {
  @EventPattern(KEY)
  handle(@Payload() batch: KafkaBatch): BatchResult {
    const out = topicRef(Copied, copyTo);
    return {
      publish: [
        publication(
          out,
          batch.messages.map((m) => ({ key: null, value: { value: m.value?.toString() ?? '' } })),
        ),
      ],
    };
  }
}

@Module({ controllers: [CopyController] })
class CopyModule {}

describe('a broker killed between committing a transaction and answering', () => {
  let infra: LocalInfra;
  let kafka: Kafka;
  let producer: Producer;
  let app: INestMicroservice | undefined;

  beforeAll(async () => {
    infra = await privateInfra(() => undefined, 1);
    kafka = testKafka('unanswered', { brokers: infra.kafkaBrokers });
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  }, 300000);

  afterAll(async () => {
    await app?.close();
    await producer?.disconnect();
    await infra?.stop();
  });

  it('does not do the committed batch again', async () => {
    const topic = uniqueName('unanswered-in');
    copyTo = uniqueName('unanswered-out');
    const groupId = uniqueName('unanswered');
    const admin = kafka.admin();
    await admin.connect();
    await createTestTopics(admin, [topic, copyTo], 1);
    const fill = (from: number) =>
      producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${from + i}` })) });
    await fill(0);
    const faults = new LostAnswers();
    const metrics = new MetricsService({ service: 'unanswered' });
    const transport = new KafkaBatchTransport({
      kafka: faults.kafka('unanswered-transformer', infra.kafkaBrokers),
      groupId,
      consumerName: 'unanswered',
      subscriptions: [{ key: KEY, topic }],
      delivery: 'transaction',
      transactionalIdPrefix: uniqueName('unanswered'),
      retry: { initialMs: 50, maxMs: 500 },
      metrics,
    });
    app = await NestFactory.createMicroservice(CopyModule, { strategy: transport, logger: false });
    await app.listen();
    const committedOf = async () => (await committedOffsets(admin, groupId, topic)).get(0) ?? -1;
    await eventually(async () => ((await committedOf()) === 10 ? true : undefined), 60000);
    // The broker commits the next transaction and answers; the answer never arrives, and the broker
    // freezes the moment it is sent, before it writes the transaction's markers (most of the time:
    // hence two rounds). Then it crashes, starts again on the same data, and completes the commit
    // only after its listener is up, or, as Kafka 4.3 can on one node, without writing the markers.
    const broker = infra.cluster?.nodes[0];
    if (!broker) throw new Error('no Kafka node to freeze');
    for (const round of [0, 1]) {
      const lost = faults.loseNextAnswer(API_END_TXN, () => broker.pause());
      await fill(10 + 20 * round);
      await lost;
      await infra.killKafka();
      await infra.startKafka();
      await fill(20 + 20 * round);
      await eventually(async () => ((await committedOf()) === 30 + 20 * round ? true : undefined), 120000);
    }
    const copies = await consumeAll(kafka, copyTo);
    await admin.disconnect();
    expect(copies.map((c) => c.message.value?.toString())).toEqual(
      Array.from({ length: 50 }, (_, i) => JSON.stringify({ value: `r-${i}` })),
    );
    // Both commits went unanswered: the fault happened twice.
    const transactions = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === `${metrics.prefix}_transactions_total`);
    expect(transactions?.values.find((v) => v.labels['outcome'] === 'unknown')?.value).toBe(2);
  }, 300000);
});
