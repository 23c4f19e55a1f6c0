import { randomUUID } from 'node:crypto';
import { Admin, Kafka, KafkaMessage } from 'kafkajs';

const HIGH_WATERMARKS = Symbol('high watermarks');

/**
 * An admin whose `fetchTopicOffsets` reports each partition's high watermark (the end of all that
 * was written, transactions still undecided included) instead of its last stable offset. The last
 * stable offset can lag a commit the caller has already seen answered, so a test or a drain that
 * waits for "the end" takes it from one of these.
 */
export type HighWatermarkAdmin = Admin & { readonly [HIGH_WATERMARKS]: true };

export function highWatermarkAdmin(kafka: Kafka): HighWatermarkAdmin {
  return Object.assign(kafka.admin({ readUncommitted: true }), { [HIGH_WATERMARKS]: true as const });
}

export interface TopicReadOptions {
  readonly readUncommitted?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Reads every record of a topic up to the end offsets it has when the call starts (read committed
 * by default), in a throwaway group. Transaction markers take offsets too, so "the end" is judged
 * by kafkajs' batch positions, which include batches that held only markers.
 *
 * The end is each partition's high watermark, not its last stable offset: a transaction committed
 * just before the call may not have its markers written yet (the broker writes them after it has
 * answered the commit), and an older transaction still open holds the stable offset back. A read
 * committed read therefore waits until every transaction below the end is decided, which a
 * producer that died in one bounds by its transaction timeout.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onRecord: (partition: number, message: KafkaMessage) => void,
  options: TopicReadOptions = {},
): Promise<void> {
  const admin = highWatermarkAdmin(kafka);
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
