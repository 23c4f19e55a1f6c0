import { randomUUID } from 'node:crypto';
import { Admin, Kafka, KafkaMessage } from 'kafkajs';

/** What replay needs to know about the topic it produces to, to resume without repeating. */
export interface TargetLog {
  /** The end offset (next offset to be written) of every partition. */
  endOffsets(): Promise<Map<number, bigint>>;
  /** Every record from `from` (per partition) up to the current end, in no particular order across partitions. */
  readSince(from: ReadonlyMap<number, bigint>, onRecord: (partition: number, message: KafkaMessage) => void): Promise<void>;
}

/** The target topic in Kafka, read by a consumer of its own that commits nothing. */
export class KafkaTargetLog implements TargetLog {
  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly timeoutMs = 300000,
  ) {}

  async endOffsets(): Promise<Map<number, bigint>> {
    const offsets = await this.admin.fetchTopicOffsets(this.topic);
    return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  }

  async readSince(from: ReadonlyMap<number, bigint>, onRecord: (partition: number, message: KafkaMessage) => void): Promise<void> {
    const ends = await this.endOffsets();
    const start = (partition: number) => from.get(partition) ?? 0n;
    const pending = new Set([...ends].filter(([partition, end]) => end > start(partition)).map(([partition]) => partition));
    if (pending.size === 0) return;
    const consumer = this.kafka.consumer({ groupId: `replay-resume-${randomUUID()}`, maxWaitTimeInMs: 100 });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (BigInt(payload.lastOffset) >= (ends.get(payload.partition) ?? 0n) - 1n) pending.delete(payload.partition);
      if (pending.size === 0) finish();
    });
    // Only the part written since the checkpoint: every partition starts where it stood then. On
    // every join, since a consumer that kafkajs restarts (a coordinator still loading) starts over.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, end] of ends)
        consumer.seek({ topic: this.topic, partition, offset: (pending.has(partition) ? start(partition) : end).toString() });
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          const begin = start(batch.partition);
          const end = ends.get(batch.partition) ?? 0n;
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            if (offset >= begin && offset < end) onRecord(batch.partition, message);
          }
          return Promise.resolve();
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`gave up reading ${this.topic} since the checkpoint after ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
      await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
    } finally {
      await consumer.disconnect();
    }
  }
}
