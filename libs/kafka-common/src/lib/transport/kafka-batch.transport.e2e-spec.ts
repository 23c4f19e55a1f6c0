import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Admin, Kafka, Producer } from 'kafkajs';
import { committedOffsets, consumeRecords, createTestTopics, eventually, testKafka, uniqueName } from '../../testing';
import { DeadLetterHeaders, headerText } from '../contracts/headers';
import { MetricsService } from '../metrics/metrics.service';
import { KafkaBatch, KafkaBatchContext } from './kafka-batch.context';
import { KafkaBatchTransport } from './kafka-batch.transport';

const KEY = 'test.records';

/** What the handler under test does with each batch; swapped per test. */
type Behaviour = (batch: KafkaBatch, ctx: KafkaBatchContext) => Promise<void>;
let behaviour: Behaviour = () => Promise.resolve();

@Controller()
class RecordingController {
  @EventPattern(KEY)
  handle(@Payload() batch: KafkaBatch, @Ctx() ctx: KafkaBatchContext): Promise<void> {
    return behaviour(batch, ctx);
  }
}

@Module({ controllers: [RecordingController] })
class TestModule {}

describe('KafkaBatchTransport against a real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let app: INestMicroservice | undefined;

  beforeAll(async () => {
    kafka = testKafka('transport-e2e');
    admin = kafka.admin();
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    behaviour = () => Promise.resolve();
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  function transportApp(topic: string, groupId: string, options: { deadLetterTopic?: string; metrics?: MetricsService } = {}) {
    const transport = new KafkaBatchTransport({
      kafka,
      groupId,
      consumerName: 'transport-e2e',
      subscriptions: [{ key: KEY, topic }],
      retry: { initialMs: 50, maxMs: 200 },
      ...(options.deadLetterTopic ? { deadLetter: { producer, topic: { name: options.deadLetterTopic } } } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    return NestFactory.createMicroservice(TestModule, { strategy: transport, logger: false });
  }

  async function startTransport(topic: string, groupId: string, deadLetterTopic?: string, metrics?: MetricsService): Promise<void> {
    app = await transportApp(topic, groupId, { ...(deadLetterTopic ? { deadLetterTopic } : {}), ...(metrics ? { metrics } : {}) });
    await app.listen();
  }

  /** `consumer_lag_records` by partition, as a scrape of `metrics` shows it. */
  async function lagSeries(metrics: MetricsService): Promise<Map<number, number>> {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === `${metrics.prefix}_consumer_lag_records`);
    return new Map((metric?.values ?? []).map((v) => [Number(v.labels['partition']), v.value]));
  }

  /** Produces `count` records per partition, values `p<partition>-<n>`, in order. */
  async function fill(topic: string, partitions: number, count: number): Promise<void> {
    for (let p = 0; p < partitions; p++) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, n) => ({ partition: p, key: `k${p}`, value: `p${p}-${n}` })),
      });
    }
  }

  async function endOffsets(topic: string): Promise<Map<number, number>> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  it('delivers each partition in offset order and commits the end of every partition', async () => {
    const topic = uniqueName('transport-order');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 3);
    await fill(topic, 3, 400);
    const seen = new Map<number, string[]>();
    behaviour = (batch) => {
      const values = seen.get(batch.partition) ?? [];
      values.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
      seen.set(batch.partition, values);
      return Promise.resolve();
    };
    await startTransport(topic, groupId);
    const end = await endOffsets(topic);
    await eventually(async () => {
      const committed = await committedOffsets(admin, groupId, topic);
      return [...end].every(([p, high]) => committed.get(p) === high) ? true : undefined;
    });
    for (let p = 0; p < 3; p++) {
      expect(seen.get(p)).toEqual(Array.from({ length: 400 }, (_, n) => `p${p}-${n}`));
    }
  });

  it('commits nothing while the handler has not resolved, then the whole batch', async () => {
    const topic = uniqueName('transport-gate');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 1);
    await fill(topic, 1, 50);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handed = 0;
    behaviour = async (batch) => {
      handed += batch.messages.length;
      await gate;
    };
    await startTransport(topic, groupId);
    await eventually(() => (handed > 0 ? true : undefined));
    // The handler holds a batch; a commit now would be a commit of unprocessed records.
    expect((await committedOffsets(admin, groupId, topic)).get(0)).toBe(-1);
    release();
    await eventually(async () => ((await committedOffsets(admin, groupId, topic)).get(0) === 50 ? true : undefined));
  });

  it('does not commit a failing batch, redelivers it, and keeps other partitions moving', async () => {
    const topic = uniqueName('transport-fail');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 2);
    await fill(topic, 2, 100);
    let failuresLeft = 5;
    const committedWhileFailing: number[] = [];
    const delivered = new Map<number, number>();
    behaviour = async (batch) => {
      if (batch.partition === 0 && failuresLeft > 0) {
        failuresLeft--;
        committedWhileFailing.push((await committedOffsets(admin, groupId, topic)).get(0) ?? -1);
        throw new Error('sink unavailable');
      }
      delivered.set(batch.partition, (delivered.get(batch.partition) ?? 0) + batch.messages.length);
    };
    await startTransport(topic, groupId);
    await eventually(async () => {
      const committed = await committedOffsets(admin, groupId, topic);
      return committed.get(0) === 100 && committed.get(1) === 100 ? true : undefined;
    });
    expect(failuresLeft).toBe(0);
    expect(committedWhileFailing.every((offset) => offset === -1)).toBe(true);
    // Every record of partition 0 came again after the failures: none was skipped.
    expect(delivered.get(0)).toBe(100);
    expect(delivered.get(1)).toBe(100);
  });

  it('routes a record to the dead-letter topic with its reason and still commits the partition', async () => {
    const topic = uniqueName('transport-dlq');
    const deadLetterTopic = uniqueName('transport-dlq-target');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic, deadLetterTopic], 1);
    await fill(topic, 1, 10);
    behaviour = async (batch, ctx) => {
      for (const message of batch.messages) {
        if (message.value?.toString() === 'p0-3') await ctx.deadLetter(message, { reason: 'test-reason', detail: 'rejected by the test' });
      }
    };
    await startTransport(topic, groupId, deadLetterTopic);
    const [letter] = await consumeRecords(kafka, deadLetterTopic, 1);
    expect(letter?.message.value?.toString()).toBe('p0-3');
    expect(headerText(letter?.message.headers, DeadLetterHeaders.reason)).toBe('test-reason');
    expect(headerText(letter?.message.headers, DeadLetterHeaders.sourceTopic)).toBe(topic);
    expect(headerText(letter?.message.headers, DeadLetterHeaders.sourceOffset)).toBe('3');
    await eventually(async () => ((await committedOffsets(admin, groupId, topic)).get(0) === 10 ? true : undefined));
  });

  it('shows lag against the committed offset for the partitions it owns, and drops a revoked partition', async () => {
    const topic = uniqueName('transport-lag');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 2);
    await fill(topic, 2, 50);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handed = new Set<number>();
    behaviour = async (batch) => {
      handed.add(batch.partition);
      await gate;
    };
    const first = new MetricsService({ service: 'lag-first' });
    await startTransport(topic, groupId, undefined, first);
    await eventually(() => (handed.size === 2 ? true : undefined));
    // Both batches are in hand but none is committed: KEDA sees 50 per partition, and so must we.
    expect(await lagSeries(first)).toEqual(
      new Map([
        [0, 50],
        [1, 50],
      ]),
    );
    release();
    await eventually(async () => {
      const lag = await lagSeries(first);
      return lag.get(0) === 0 && lag.get(1) === 0 ? true : undefined;
    });

    const second = new MetricsService({ service: 'lag-second' });
    const other = await transportApp(topic, groupId, { metrics: second });
    try {
      await other.listen();
      // After the rebalance each member shows only the partition it owns.
      const split = await eventually(async () => {
        const [a, b] = [await lagSeries(first), await lagSeries(second)];
        return a.size === 1 && b.size === 1 && [...a.keys()][0] !== [...b.keys()][0] ? { a, b } : undefined;
      }, 60000);
      expect([...split.a.keys(), ...split.b.keys()].sort()).toEqual([0, 1]);
    } finally {
      await other.close();
    }
  });
});
