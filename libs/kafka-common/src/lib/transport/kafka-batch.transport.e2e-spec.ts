import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { z } from 'zod';
import {
  committedOffsets,
  consumeAll,
  consumeRecords,
  createTestTopics,
  eventually,
  LostAnswers,
  testKafka,
  uniqueName,
} from '../../testing';
import { defineContract } from '../contracts/contract';
import { DeadLetterHeaders, headerText } from '../contracts/headers';
import { TopicDefinition, topicRef } from '../contracts/topics';
import { MetricsService } from '../metrics/metrics.service';
import { BatchDeclined, BatchResult, DeliveryMode, publication } from './delivery';
import { KafkaBatch, KafkaBatchContext } from './kafka-batch.context';
import { KafkaBatchTransport, KafkaBatchTransportOptions } from './kafka-batch.transport';

const KEY = 'test.records';
/** Kafka's API key of EndTxn, the request that commits or aborts a transaction. */
const API_END_TXN = 26;

/** What the handler under test does with each batch; swapped per test. */
type Behaviour = (batch: KafkaBatch, ctx: KafkaBatchContext) => Promise<BatchResult | void>;
let behaviour: Behaviour = () => Promise.resolve();

const Copied: TopicDefinition<{ value: string }> = {
  key: 'test.copied',
  defaultName: 'copied',
  nameVariable: 'TEST_COPIED',
  contract: defineContract('copied', z.object({ value: z.string() })),
};

@Controller()
class RecordingController {
  @EventPattern(KEY)
  handle(@Payload() batch: KafkaBatch, @Ctx() ctx: KafkaBatchContext): Promise<BatchResult | void> {
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

  let transport: KafkaBatchTransport | undefined;

  function transportApp(
    topic: string,
    groupId: string,
    options: {
      deadLetterTopic?: string;
      metrics?: MetricsService;
      delivery?: DeliveryMode;
      extra?: Partial<KafkaBatchTransportOptions>;
    } = {},
  ) {
    transport = new KafkaBatchTransport({
      kafka,
      groupId,
      consumerName: 'transport-e2e',
      subscriptions: [{ key: KEY, topic }],
      retry: { initialMs: 50, maxMs: 200 },
      deadLetter: { producer, topic: { name: options.deadLetterTopic ?? uniqueName('unused-dead-letters') } },
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.delivery ? { delivery: options.delivery } : {}),
      ...options.extra,
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

  /**
   * `kafka`, but its consumers hold each commit until `hold` (given the commit's number from 0)
   * resolves, as a slow coordinator would, and tell `seen` when a commit was answered and when
   * the consumer starts to disconnect.
   */
  function slowCommits(
    hold: (n: number) => Promise<void>,
    seen: (event: 'commit answered' | 'disconnecting') => void = () => undefined,
  ): Kafka {
    const slow = Object.create(kafka) as Kafka;
    slow.consumer = (config) => {
      const consumer = kafka.consumer(config);
      const commit = consumer.commitOffsets.bind(consumer);
      const disconnect = consumer.disconnect.bind(consumer);
      let commits = 0;
      consumer.commitOffsets = async (offsets) => {
        await hold(commits++);
        await commit(offsets);
        seen('commit answered');
      };
      consumer.disconnect = () => {
        seen('disconnecting');
        return disconnect();
      };
      return consumer;
    };
    return slow;
  }

  /** A topic of one partition holding 50 records, and a group of its own. */
  async function fiftyRecords(name: string): Promise<{ topic: string; groupId: string }> {
    const topic = uniqueName(name);
    await createTestTopics(admin, [topic], 1);
    await fill(topic, 1, 50);
    return { topic, groupId: uniqueName('group') };
  }

  /** A promise, and the call that resolves it. */
  function signal(): [Promise<void>, () => void] {
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((done) => (resolve = done));
    return [promise, resolve];
  }

  it("fetches a partition's next batch while the commit of the batch before is still unanswered", async () => {
    const { topic, groupId } = await fiftyRecords('transport-commit-behind');
    const [next, nextBatch] = signal();
    const firstOffsets: string[] = [];
    let committedAtNext: number | undefined;
    behaviour = async (batch) => {
      firstOffsets.push(batch.firstOffset);
      if (firstOffsets.length === 2) {
        committedAtNext = (await committedOffsets(admin, groupId, topic)).get(0);
        nextBatch();
      }
    };
    // The first commit stays unanswered until the partition's next batch has reached the handler
    // (for 10 s at most: a transport that waits for it before fetching then fails below, not hangs).
    const held = Promise.race([next, new Promise<void>((resolve) => setTimeout(resolve, 10000).unref())]);
    app = await transportApp(topic, groupId, { extra: { kafka: slowCommits((n) => (n === 0 ? held : Promise.resolve())) } });
    await app.listen();
    await eventually(() => (firstOffsets.length === 1 ? true : undefined));
    await fill(topic, 1, 50);
    await eventually(async () => ((await committedOffsets(admin, groupId, topic)).get(0) === 100 ? true : undefined));
    expect(firstOffsets).toEqual(['0', '50']);
    expect(committedAtNext).toBe(-1);
  });

  it('counts a commit that failed behind its batch, neither sends the batch again nor stops the next commit', async () => {
    const { topic, groupId } = await fiftyRecords('transport-commit-fails');
    let handled = 0;
    behaviour = (batch) => {
      handled += batch.messages.length;
      return Promise.resolve();
    };
    const metrics = new MetricsService({ service: 'commit-fails' });
    // The first commit fails, as one sent to a coordinator that just moved would.
    const kafka = slowCommits((n) => (n === 0 ? Promise.reject(new Error('not the coordinator')) : Promise.resolve()));
    app = await transportApp(topic, groupId, { metrics, extra: { kafka } });
    await app.listen();
    await eventually(async () => ((await counterTotal(metrics, 'offset_commit_failures_total')) === 1 ? true : undefined));
    expect((await committedOffsets(admin, groupId, topic)).get(0)).toBe(-1);
    await fill(topic, 1, 50);
    await eventually(async () => ((await committedOffsets(admin, groupId, topic)).get(0) === 100 ? true : undefined));
    expect(handled).toBe(100);
  });

  it('closes only once the commits still running are answered', async () => {
    const { topic, groupId } = await fiftyRecords('transport-close-commits');
    const [closing, closeEntered] = signal();
    const order: string[] = [];
    let handled = 0;
    behaviour = (batch) => {
      handled += batch.messages.length;
      return Promise.resolve();
    };
    // Every commit stays unanswered until the transport has begun to close.
    app = await transportApp(topic, groupId, {
      extra: {
        kafka: slowCommits(
          () => closing,
          (event) => order.push(event),
        ),
      },
    });
    await app.listen();
    await eventually(() => (handled === 50 ? true : undefined));
    const server = transport as KafkaBatchTransport;
    const close = server.close.bind(server);
    server.close = () => {
      const closed = close();
      closeEntered();
      return closed;
    };
    await app.close();
    app = undefined;
    expect(order).toEqual(['commit answered', 'disconnecting']);
    expect((await committedOffsets(admin, groupId, topic)).get(0)).toBe(50);
  });

  /**
   * `kafka` whose consumers report each batch kafkajs is about to hand over (its first offset),
   * and a producer for the transport's sends whose first `sendBatch` waits for `hold` and then
   * succeeds, or fails when `hold` rejects.
   */
  function heldFirstSend(
    hold: () => Promise<void>,
    handedOver: (firstOffset: string) => void,
    acknowledged: () => void = () => undefined,
  ): { kafka: Kafka; producer: Producer } {
    const watched = Object.create(kafka) as Kafka;
    watched.consumer = (config) => {
      const consumer = kafka.consumer(config);
      consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => handedOver(payload.firstOffset));
      return consumer;
    };
    const held = Object.create(producer) as Producer;
    let sends = 0;
    held.sendBatch = async (batch) => {
      const first = sends++ === 0;
      if (first) await hold();
      const answer = await producer.sendBatch(batch);
      if (first) acknowledged();
      return answer;
    };
    return { kafka: watched, producer: held };
  }

  /** Two record batches of 50 in one partition, fetched one at a time, each copied to `output` by the handler. */
  async function twoBatchesCopied(name: string): Promise<{ topic: string; output: string; groupId: string; handled: string[] }> {
    const topic = uniqueName(name);
    const output = uniqueName(`${name}-out`);
    await createTestTopics(admin, [topic, output], 1);
    await fill(topic, 1, 50);
    await fill(topic, 1, 50);
    const out = topicRef(Copied, output);
    const handled: string[] = [];
    behaviour = (batch) => {
      handled.push(batch.firstOffset);
      return Promise.resolve({
        publish: [
          publication(
            out,
            batch.messages.map((m) => ({ key: null, value: { value: m.value?.toString() ?? '' } })),
          ),
        ],
      });
    };
    return { topic, output, groupId: uniqueName('group'), handled };
  }

  const copiedValues = (n: number, from = 0): string[] =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ value: `p0-${(from + i) % 50}` }));

  it("at least once, hands a partition's next batch over while the sends of the batch before are acknowledged, and handles it only after", async () => {
    const { topic, output, groupId, handled } = await twoBatchesCopied('transport-ack-behind');
    const [next, nextHandedOver] = signal();
    let handledAtHandOver: number | undefined;
    // The first send stays unacknowledged until kafkajs hands the partition's next batch over
    // (10 s at most: a transport that waits for the acknowledgement before fetching fails below).
    const timedOut = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 10000).unref());
    let released: 'handed over' | 'timed out' | undefined;
    const hold = async () => {
      released = await Promise.race([next.then(() => 'handed over' as const), timedOut]);
    };
    let handledAtAcknowledgement: number | undefined;
    const held = heldFirstSend(
      hold,
      (firstOffset) => {
        if (firstOffset !== '50') return;
        handledAtHandOver = handled.length;
        nextHandedOver();
      },
      () => (handledAtAcknowledgement = handled.length),
    );
    app = await transportApp(topic, groupId, {
      extra: {
        kafka: held.kafka,
        deadLetter: { producer: held.producer, topic: { name: uniqueName('unused-dead-letters') } },
        consumer: { maxBytesPerPartition: 100 },
      },
    });
    await app.listen();
    await eventually(async () => ((await committedOffsets(admin, groupId, topic)).get(0) === 100 ? true : undefined));
    expect(released).toBe('handed over');
    expect(handledAtHandOver).toBe(1);
    expect(handledAtAcknowledgement).toBe(1);
    expect(handled).toEqual(['0', '50']);
    const copies = await consumeAll(kafka, output);
    expect(copies.map((c) => c.message.value?.toString())).toEqual(copiedValues(100));
  });

  it('at least once, sends a partition back to the first record of a batch whose sends failed after kafkajs moved past it', async () => {
    const { topic, output, groupId, handled } = await twoBatchesCopied('transport-ack-fails');
    const [next, nextHandedOver] = signal();
    const timedOut = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 10000).unref());
    let failed: 'after the hand-over' | 'timed out' | undefined;
    // The first send fails once the partition's next batch was handed over, as a send to a broker
    // that went away would after its retries; the next batch was fetched from past the failed one.
    const hold = async () => {
      failed = await Promise.race([next.then(() => 'after the hand-over' as const), timedOut]);
      throw new Error('broker went away');
    };
    const held = heldFirstSend(hold, (firstOffset) => {
      if (firstOffset === '50') nextHandedOver();
    });
    const metrics = new MetricsService({ service: 'ack-fails' });
    app = await transportApp(topic, groupId, {
      metrics,
      extra: {
        kafka: held.kafka,
        deadLetter: { producer: held.producer, topic: { name: uniqueName('unused-dead-letters') } },
        consumer: { maxBytesPerPartition: 100 },
      },
    });
    await app.listen();
    await eventually(async () => ((await committedOffsets(admin, groupId, topic)).get(0) === 100 ? true : undefined));
    expect(failed).toBe('after the hand-over');
    // The batch fetched past the failed one was dropped, not handled: the partition went back to 0.
    expect(handled).toEqual(['0', '0', '50']);
    const copies = await consumeAll(kafka, output);
    expect(copies.map((c) => c.message.value?.toString())).toEqual(copiedValues(100));
    expect(await counterTotal(metrics, 'batch_failures_total')).toBe(1);
  });

  it.each([
    ['at least once', 'ack-then-commit'],
    ['exactly once', 'transaction'],
  ] as const)(
    "%s, a batch whose handler still runs holds up neither the next fetch nor another partition's batches",
    async (_, delivery) => {
      const topic = uniqueName('transport-handler-behind');
      const groupId = uniqueName('group');
      await createTestTopics(admin, [topic], 2);
      await fill(topic, 1, 20);
      const [gate, release] = signal();
      let heldBatches = 0;
      const otherPartition: string[] = [];
      behaviour = async (batch) => {
        if (batch.partition === 0) {
          heldBatches++;
          await gate;
          return;
        }
        otherPartition.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
      };
      await startWith(topic, groupId, delivery);
      await eventually(() => (heldBatches > 0 ? true : undefined));
      // Records of partition 1 come only now: kafkajs must fetch again, with partition 0's handler still running.
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, n) => ({ partition: 1, value: `p1-${n}` })) });
      try {
        await eventually(() => (otherPartition.length === 20 ? true : undefined), 20000);
        expect((await committedOffsets(admin, groupId, topic)).get(0)).toBe(-1);
      } finally {
        release();
      }
      await eventually(async () => {
        const committed = await committedOffsets(admin, groupId, topic);
        return committed.get(0) === 20 && committed.get(1) === 20 ? true : undefined;
      });
      expect(heldBatches).toBe(1);
      expect(otherPartition).toEqual(Array.from({ length: 20 }, (_, n) => `p1-${n}`));
    },
  );

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

  /** An aborted transaction of `count` records on partition 0: read committed, only its marker remains. */
  async function abortedTransaction(topic: string, count: number): Promise<void> {
    const transactional = kafka.producer({ transactionalId: uniqueName('aborting'), idempotent: true, maxInFlightRequests: 1 });
    await transactional.connect();
    try {
      const transaction = await transactional.transaction();
      await transaction.send({ topic, messages: Array.from({ length: count }, (_, n) => ({ partition: 0, value: `aborted-${n}` })) });
      await transaction.abort();
    } finally {
      await transactional.disconnect();
    }
  }

  async function committedOf(groupId: string, topic: string): Promise<number> {
    return (await committedOffsets(admin, groupId, topic)).get(0) ?? -1;
  }

  it('deferred: commits what the handler reports durable, and past a marker-only batch only once the records before it are durable', async () => {
    const topic = uniqueName('transport-deferred');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 1);
    await fill(topic, 1, 5);
    const reporters: ((nextOffset: bigint) => Promise<void>)[] = [];
    let handed = 0;
    behaviour = (batch, ctx) => {
      handed += batch.messages.length;
      reporters.push(ctx.durability());
      return Promise.resolve({});
    };
    await startWith(topic, groupId, 'deferred');
    await eventually(() => (handed === 5 ? true : undefined));
    let markerBatchEnd: string | undefined;
    const consumer = transport?.unwrap<Consumer>();
    consumer?.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0) markerBatchEnd = payload.lastOffset;
    });
    // Offsets 5 (the aborted record) and 6 (its marker) hold nothing a read-committed consumer sees.
    await abortedTransaction(topic, 1);
    await eventually(() => (markerBatchEnd === '6' ? true : undefined));
    // Nothing was reported durable yet: the marker-only batch must not be committed past records 0-4.
    expect(await committedOf(groupId, topic)).toBe(-1);
    await reporters[reporters.length - 1]?.(3n);
    await eventually(async () => ((await committedOf(groupId, topic)) === 3 ? true : undefined));
    await reporters[reporters.length - 1]?.(5n);
    await eventually(async () => ((await committedOf(groupId, topic)) === 7 ? true : undefined));
  });

  it('deferred: a declined batch is neither resolved nor committed past, even when transaction markers follow it', async () => {
    const topic = uniqueName('transport-declined');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 1);
    await fill(topic, 1, 5);
    let declining = false;
    let declined = 0;
    let taken = 0;
    behaviour = (batch) => {
      if (declining) {
        declined++;
        return Promise.reject(new BatchDeclined('draining'));
      }
      taken += batch.messages.length;
      return Promise.resolve({ durableBelow: BigInt(batch.messages[batch.messages.length - 1]?.offset ?? '0') + 1n });
    };
    await startWith(topic, groupId, 'deferred');
    await eventually(async () => ((await committedOf(groupId, topic)) === 5 ? true : undefined));
    declining = true;
    await fill(topic, 1, 5);
    await abortedTransaction(topic, 2);
    await eventually(() => (declined >= 3 ? true : undefined));
    // Records 5-9 were declined: whatever markers came after them, the offset stays at 5.
    expect(await committedOf(groupId, topic)).toBe(5);
    declining = false;
    await eventually(async () => ((await committedOf(groupId, topic)) === 13 ? true : undefined));
    expect(taken).toBe(10);
  });

  it('transaction: a re-fetch that lies wholly below the committed offset neither transforms again nor moves the offset back', async () => {
    const topic = uniqueName('transport-resync');
    const output = uniqueName('transport-resync-out');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic, output], 1);
    // Many small record batches, so fetches are cut small and a re-fetch ends well before 150.
    for (let n = 0; n < 30; n++) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${n * 10 + i}` })),
      });
    }
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '150' }] });
    const out = topicRef(Copied, output);
    let firstSeen: string | undefined;
    behaviour = (batch) => {
      firstSeen ??= batch.messages[0]?.offset;
      return Promise.resolve({
        publish: [
          publication(
            out,
            batch.messages.map((m) => ({ key: null, value: { value: m.value?.toString() ?? '' } })),
          ),
        ],
      });
    };
    const metrics = new MetricsService({ service: 'resync' });
    app = await transportApp(topic, groupId, {
      delivery: 'transaction',
      metrics,
      extra: { transactionalIdPrefix: uniqueName('resync'), consumer: { maxBytesPerPartition: 1024, maxBytes: 1024 } },
    });
    await app.listen();
    await eventually(async () => ((await committedOf(groupId, topic)) === 300 ? true : undefined), 60000);
    expect(firstSeen).toBe('150');
    // Read everything again from the start, as kafkajs does after an unanswered commit.
    transport?.unwrap<Consumer>().seek({ topic, partition: 0, offset: '0' });
    await eventually(async () => ((await consumedTotal(metrics)) >= 450 ? true : undefined), 60000);
    const copies = await consumeAll(kafka, output);
    expect(copies.map((c) => c.message.value?.toString())).toEqual(
      Array.from({ length: 150 }, (_, i) => JSON.stringify({ value: `r-${150 + i}` })),
    );
    expect(await committedOf(groupId, topic)).toBe(300);
  });

  it('transaction: a batch kafkajs hands over again while its first delivery still runs (after a rejoin) is not transformed twice', async () => {
    const topic = uniqueName('transport-overlap');
    const output = uniqueName('transport-overlap-out');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic, output], 1);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${i}` })) });
    const out = topicRef(Copied, output);
    const copy = (batch: KafkaBatch): BatchResult => ({
      publish: [
        publication(
          out,
          batch.messages.map((m) => ({ key: null, value: { value: m.value?.toString() ?? '' } })),
        ),
      ],
    });
    // The second batch (offsets 10-19) is held in its handler until the same batch, handed over
    // again as kafkajs does when a rejoin does not wait for every batch in flight, has reached its
    // handler too, or for 2 s if it does not reach it.
    const events: string[] = [];
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    behaviour = async (batch) => {
      if (batch.messages[0]?.offset !== '10') return copy(batch);
      const call = ++calls;
      events.push(`start ${call}`);
      if (call === 1) await held;
      else {
        // The first delivery goes on and commits; then this one would commit the same records.
        release();
        await eventually(async () => ((await committedOf(groupId, topic)) === 20 ? true : undefined), 60000);
      }
      events.push(`end ${call}`);
      return copy(batch);
    };
    app = await transportApp(topic, groupId, { delivery: 'transaction', extra: { transactionalIdPrefix: uniqueName('overlap') } });
    const internals = transport as unknown as { processBatch(payload: EachBatchPayload): Promise<void> };
    const processBatch = internals.processBatch.bind(transport);
    let again: Promise<void> | undefined;
    internals.processBatch = (payload) => {
      const first = processBatch(payload);
      if (payload.batch.messages[0]?.offset === '10' && !again) {
        again = processBatch(payload);
        setTimeout(release, 2000);
      }
      return first;
    };
    await app.listen();
    await eventually(async () => ((await committedOf(groupId, topic)) === 10 ? true : undefined), 60000);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${10 + i}` })) });
    await eventually(async () => ((await committedOf(groupId, topic)) === 20 && again ? true : undefined), 60000);
    await again;
    const copies = await consumeAll(kafka, output);
    expect(copies.map((c) => c.message.value?.toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => JSON.stringify({ value: `r-${i}` })),
    );
    // The second delivery waited for the first, then found its records done.
    expect(events).toEqual(['start 1', 'end 1']);
  });

  it('transaction: a commit the broker made but never answered is not done again', async () => {
    const topic = uniqueName('transport-unanswered');
    const output = uniqueName('transport-unanswered-out');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic, output], 1);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${i}` })) });
    const out = topicRef(Copied, output);
    behaviour = (batch) =>
      Promise.resolve({
        publish: [
          publication(
            out,
            batch.messages.map((m) => ({ key: null, value: { value: m.value?.toString() ?? '' } })),
          ),
        ],
      });
    const faults = new LostAnswers();
    const metrics = new MetricsService({ service: 'unanswered' });
    app = await transportApp(topic, groupId, {
      delivery: 'transaction',
      metrics,
      extra: { kafka: faults.kafka('unanswered'), transactionalIdPrefix: uniqueName('unanswered') },
    });
    await app.listen();
    await eventually(async () => ((await committedOf(groupId, topic)) === 10 ? true : undefined), 60000);
    // The next transaction's EndTxn reaches the broker, which commits it; its answer is lost.
    const lost = faults.loseNextAnswer(API_END_TXN);
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${10 + i}` })) });
    await lost;
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `r-${20 + i}` })) });
    await eventually(async () => ((await committedOf(groupId, topic)) === 30 ? true : undefined), 60000);
    const copies = await consumeAll(kafka, output);
    expect(copies.map((c) => c.message.value?.toString())).toEqual(
      Array.from({ length: 30 }, (_, i) => JSON.stringify({ value: `r-${i}` })),
    );
    const transactions = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === `${metrics.prefix}_transactions_total`);
    expect(transactions?.values.find((v) => v.labels['outcome'] === 'unknown')?.value).toBe(1);
  });

  it('stops heartbeating a batch stuck past maxBatchMs, so the group gives its partition to another member', async () => {
    const topic = uniqueName('transport-stuck');
    const groupId = uniqueName('group');
    await createTestTopics(admin, [topic], 1);
    await fill(topic, 1, 20);
    let stuck = 0;
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const consumer = { sessionTimeout: 6000, heartbeatInterval: 1000, rebalanceTimeout: 180000 };
    // The first member hangs on its batch, as on a sink that never answers, until the test ends.
    behaviour = () => {
      stuck++;
      return hung;
    };
    app = await transportApp(topic, groupId, { extra: { maxBatchMs: 2000, consumer } });
    await app.listen();
    await eventually(() => (stuck > 0 ? true : undefined));
    let taken = 0;
    behaviour = (batch) => {
      taken += batch.messages.length;
      return Promise.resolve();
    };
    const other = await transportApp(topic, groupId, { extra: { consumer } });
    const joined = Date.now();
    try {
      await other.listen();
      await eventually(async () => ((await committedOf(groupId, topic)) === 20 ? true : undefined), 60000);
      expect(taken).toBe(20);
      // Heartbeated for ever, the stuck member holds the rebalance for its whole 180 s rebalance
      // timeout; unheartbeated, its 6 s session ends it. Half the rebalance timeout tells the two apart.
      expect(Date.now() - joined).toBeLessThan(90000);
    } finally {
      release();
      await other.close();
    }
  });

  async function startWith(topic: string, groupId: string, delivery: DeliveryMode): Promise<void> {
    app = await transportApp(topic, groupId, { delivery });
    await app.listen();
  }

  async function consumedTotal(metrics: MetricsService): Promise<number> {
    return counterTotal(metrics, 'records_consumed_total');
  }

  async function counterTotal(metrics: MetricsService, name: string): Promise<number> {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === `${metrics.prefix}_${name}`);
    return metric?.values[0]?.value ?? 0;
  }
});
