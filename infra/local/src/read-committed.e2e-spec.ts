import { Producer } from 'kafkajs';
import { consumeAll, createTestTopics, seededRandom, testKafka, uniqueName } from '@weblog/kafka-common/testing';
import { kafkaTool } from './kafka-tool';
import { prepareKafka } from './prepare';

/**
 * Several transactional producers writing one partition, their transactions overlapping and
 * some aborted, as the transformer's producers (one per input partition) do after a crash. What
 * kafkajs hands a read-committed consumer must be exactly what Kafka's own console consumer
 * reads at `--isolation-level read_committed`: the committed records, in offset order, no more.
 */
describe('read committed with overlapping aborted transactions from several producers', () => {
  const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean);
  const kafka = testKafka('read-committed-e2e');

  it('kafkajs delivers the same records as the console consumer, and only the committed ones', async () => {
    const topic = uniqueName('read-committed');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await createTestTopics(admin, [topic], 1);
    } finally {
      await admin.disconnect();
    }
    const random = seededRandom(15);
    const producers: Producer[] = [];
    for (let p = 0; p < 4; p++) {
      const producer = kafka.producer({ transactionalId: uniqueName(`overlap-${p}`), idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      producers.push(producer);
    }
    const committed: string[] = [];
    try {
      for (let round = 0; round < 12; round++) {
        // Every producer opens a transaction; their records interleave in the partition; then
        // they end in a random order, each committed or aborted at random.
        const open = await Promise.all(producers.map((producer) => producer.transaction()));
        const written = open.map(() => [] as string[]);
        for (let step = 0; step < 6; step++) {
          for (const [p, transaction] of open.entries()) {
            const value = `r${round}-p${p}-s${step}`;
            await transaction.send({ topic, messages: [{ partition: 0, value }] });
            written[p]?.push(value);
          }
        }
        const order = [...open.keys()].sort(() => random() - 0.5);
        for (const p of order) {
          if (random() < 0.5) {
            await open[p]?.abort();
          } else {
            await open[p]?.commit();
            committed.push(...(written[p] ?? []));
          }
        }
      }
    } finally {
      await Promise.all(producers.map((producer) => producer.disconnect()));
    }
    expect(committed.length).toBeGreaterThan(0);

    const viaKafkajs = (await consumeAll(kafka, topic)).map((r) => r.message.value?.toString() ?? '');
    const printed = await kafkaTool(await prepareKafka(() => undefined), 'org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server',
      brokers.join(','),
      '--topic',
      topic,
      '--from-beginning',
      '--isolation-level',
      'read_committed',
      '--timeout-ms',
      '15000',
    ]);
    const viaConsole = printed
      .split('\n')
      .filter((line) => /^r\d+-p\d+-s\d+$/.test(line.trim()))
      .map((line) => line.trim());

    expect(viaConsole.length).toBe(committed.length);
    expect(viaKafkajs).toEqual(viaConsole);
    expect([...viaKafkajs].sort()).toEqual([...committed].sort());
  });
});
