import { randomUUID } from 'node:crypto';
import { Kafka, KafkaMessage } from 'kafkajs';

export interface TopicReadOptions {
  readonly readUncommitted?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Reads every record of a topic up to the end offsets it has when the call starts (read committed
 * by default), in a throwaway group. Transaction markers take offsets too, so "the end" is judged
 * by kafkajs' batch positions, which include batches that held only markers.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onRecord: (partition: number, message: KafkaMessage) => void,
  options: TopicReadOptions = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const endByPartition = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  const pending = new Set([...endByPartition].filter(([, high]) => high > 0).map(([partition]) => partition));
  if (pending.size === 0) return;
  const consumer = kafka.consumer({
    groupId: `read-to-end-${randomUUID()}`,
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
  });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (Number(payload.lastOffset) >= (endByPartition.get(payload.partition) ?? 0) - 1) pending.delete(payload.partition);
    if (pending.size === 0) finish();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        const end = endByPartition.get(batch.partition) ?? 0;
        for (const message of batch.messages) if (Number(message.offset) < end) onRecord(batch.partition, message);
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`gave up reading ${topic} to its end after ${options.timeoutMs ?? 300000} ms`)),
        options.timeoutMs ?? 300000,
      );
    });
    await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
}
