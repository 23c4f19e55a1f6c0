import { CompressionTypes, Message, Producer, TopicMessages } from 'kafkajs';
import { inRequests, MAX_SEND_BYTES, RequestChunk } from './contract-producer';

interface Pending {
  readonly topic: string;
  /** The send in requests of at most `maxBytes`: one, unless the send is larger. */
  readonly chunks: RequestChunk[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One producer's sends as a group commit: at most one request in flight, and every send that
 * arrives meanwhile goes in the next request, acks=all. kafkajs sends each `send` as a request of
 * its own and, idempotent, one at a time per broker: batches of several partitions handled at
 * once waited for each other's round trips. Sends keep their order: each one's records are in a
 * request no earlier than those of every send before it, in the order given. A request of at most
 * `maxBytes` takes whole sends; a send larger than that alone goes in requests of its own.
 * A failed request fails every send in it, and only those.
 */
export class SendCoalescer {
  private queue: Pending[] = [];
  private sending = false;

  constructor(
    private readonly producer: Pick<Producer, 'sendBatch'>,
    private readonly compression: CompressionTypes = CompressionTypes.None,
    private readonly maxBytes = MAX_SEND_BYTES,
  ) {}

  send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    const chunks = inRequests(messages, this.maxBytes);
    const bytes = chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, chunks, bytes, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const taken = this.take();
        try {
          await this.request(taken);
          for (const p of taken) p.resolve();
        } catch (error) {
          for (const p of taken) p.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** The sends of the next request: the first always, then whole ones while they fit. */
  private take(): Pending[] {
    let end = 1;
    let bytes = this.queue[0]?.bytes ?? 0;
    while (end < this.queue.length) {
      const next = this.queue[end];
      if (!next || bytes + next.bytes > this.maxBytes) break;
      bytes += next.bytes;
      end++;
    }
    return this.queue.splice(0, end);
  }

  private async request(taken: readonly Pending[]): Promise<void> {
    const [only] = taken;
    if (taken.length === 1 && only && only.chunks.length > 1) {
      for (const chunk of only.chunks) await this.sendBatch([{ topic: only.topic, messages: chunk.messages }]);
      return;
    }
    // One entry per topic, each send's records after those of the sends before it.
    const byTopic = new Map<string, Message[]>();
    for (const p of taken) {
      const list = byTopic.get(p.topic) ?? [];
      for (const chunk of p.chunks) for (const message of chunk.messages) list.push(message);
      byTopic.set(p.topic, list);
    }
    await this.sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })));
  }

  private async sendBatch(topicMessages: TopicMessages[]): Promise<void> {
    await this.producer.sendBatch({ acks: -1, compression: this.compression, topicMessages });
  }
}
