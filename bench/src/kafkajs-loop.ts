// A peer for the transformer benchmark: the least a kafkajs transformer does. The same client
// library, consumer settings, idempotent acks=all producer and request sizes as our transformer,
// but no JSON, no contract checks and no dead-letter handling: each value upper-cased as one
// string, at-least-once (offsets committed after the send). What it reaches is the ceiling of
// any transformer built on kafkajs in one Node.js process on this machine.
//
// Configured through the environment: BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, GROUP_ID.
import { Kafka, logLevel } from 'kafkajs';
import { createSafeProducer, sendRaw } from '@weblog/kafka-common';

async function main(): Promise<void> {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const kafka = new Kafka({ clientId: 'kafkajs-loop', brokers: env('BOOTSTRAP_SERVERS').split(','), logLevel: logLevel.ERROR });
  const producer = createSafeProducer(kafka);
  const consumer = kafka.consumer({ groupId: env('GROUP_ID'), maxBytesPerPartition: 1048576, maxWaitTimeInMs: 100 });
  const output = { name: env('OUTPUT_TOPIC') };
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topics: [env('INPUT_TOPIC')], fromBeginning: true });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void Promise.all([consumer.disconnect(), producer.disconnect()]).finally(() => process.exit(0)));
  }
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      const messages = batch.messages.map((m) => ({
        key: m.key,
        value: m.value === null ? null : Buffer.from(m.value.toString('utf8').toUpperCase(), 'utf8'),
        headers: m.headers,
      }));
      await sendRaw(producer, output, messages);
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
      ]);
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
