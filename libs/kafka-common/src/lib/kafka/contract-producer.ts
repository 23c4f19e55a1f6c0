import { CompressionTypes, Kafka, Message, Partitioners, Producer, ProducerConfig, RecordMetadata, Transaction } from 'kafkajs';
import { encode } from '../codec/codec';
import { RecordHeaders } from '../contracts/headers';
import { RawTopicRef, TopicRef } from '../contracts/topics';

/** A record for a topic whose contract is T: the compiler refuses a value of another shape. */
export interface OutgoingRecord<T> {
  readonly key: string | Buffer | null;
  readonly value: T;
  readonly headers?: RecordHeaders;
  readonly partition?: number;
}

/**
 * Idempotent, acks=all: a send resolves only once every in-sync replica has the record. Retries
 * are unbounded, as kafkajs requires of idempotent producers (bounding them can break the
 * idempotence guarantee); the service's shutdown grace period bounds a stuck send instead. The
 * Java client's partitioner, so a key lands on the same partition whichever client wrote it.
 */
export const SAFE_PRODUCER_CONFIG: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 5,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
  retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 30000 },
};

/**
 * Records per produce request are capped by size: a consumed batch of up to 1 MiB grows a little
 * when transformed (upper-casing, one more header) and must stay under the broker's 1 MiB
 * `message.max.bytes` per partition batch.
 */
export const MAX_SEND_BYTES = 512 * 1024;

export function createSafeProducer(kafka: Kafka, extra: ProducerConfig = {}): Producer {
  return kafka.producer({ ...SAFE_PRODUCER_CONFIG, ...extra });
}

/**
 * Retries of producers whose caller retries the whole unit of work itself: a send that cannot
 * finish within about 45 s fails, so a hung broker fails the batch (fetched again with backoff)
 * instead of holding its partition forever. Safe for transactions (a failed one is aborted, so
 * nothing of it is read) and for at-least-once sends (a resend may duplicate, which that mode
 * allows); kafkajs warns about bounded idempotent retries for exactly that reason.
 */
export const BOUNDED_PRODUCER_RETRY = { retries: 10, initialRetryTime: 100, maxRetryTime: 10000 } as const;

/** A transactional producer: one in-flight request, as kafkajs requires for transactions; bounded retries. */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string, transactionTimeout = 60000): Producer {
  return kafka.producer({
    ...SAFE_PRODUCER_CONFIG,
    retry: BOUNDED_PRODUCER_RETRY,
    maxInFlightRequests: 1,
    transactionalId,
    transactionTimeout,
  });
}

/**
 * Connects a transactional producer and initialises its transactional id at once (kafkajs would
 * wait for the first transaction): the broker first finishes whatever transaction the id left, a
 * commit it was completing or a crashed predecessor's open one, which it aborts and fences. Only
 * then does reading what the transactions wrote say what they did. Resolves with the producer
 * id and epoch the broker gave.
 */
export async function connectTransactional(producer: Producer): Promise<{ producerId: number; producerEpoch: number }> {
  await producer.connect();
  return producer.initTransactions();
}

export function encodeRecords<T>(topic: TopicRef<T>, records: readonly OutgoingRecord<T>[]): Message[] {
  const contract = topic.definition.contract;
  return records.map((record) => recordMessage(record, encode(contract, record.value)));
}

/** The message of a record whose value is `value`, its bytes. */
export function recordMessage(record: OutgoingRecord<unknown>, value: Buffer): Message {
  const message: Message = { key: record.key, value, headers: record.headers };
  if (record.partition !== undefined) message.partition = record.partition;
  return message;
}

/**
 * Sends contract-checked records with acks=all. Works on a plain producer or inside a transaction.
 */
export async function sendRecords<T>(
  sender: Producer | Transaction,
  topic: TopicRef<T>,
  records: readonly OutgoingRecord<T>[],
  compression: CompressionTypes = CompressionTypes.None,
): Promise<RecordMetadata[]> {
  return sendInChunks(sender, topic.name, encodeRecords(topic, records), compression);
}

/** At least the bytes a message takes in a request: a string counts three bytes a character, UTF-8's most. */
export function messageBytes(message: Message): number {
  const { key, value, headers } = message;
  let bytes =
    64 +
    (typeof value === 'string' ? value.length * 3 : (value?.length ?? 0)) +
    (typeof key === 'string' ? key.length * 3 : (key?.length ?? 0));
  if (headers === undefined) return bytes;
  for (const name of Object.keys(headers)) {
    const header = headers[name];
    bytes += name.length * 3 + (typeof header === 'string' ? header.length * 3 : Buffer.isBuffer(header) ? header.length : 64);
  }
  return bytes;
}

/** Consecutive messages for one request, and the bytes they take at least. */
export interface RequestChunk {
  readonly messages: Message[];
  readonly bytes: number;
}

/** Messages in consecutive requests of at most `maxBytes` each (a larger message alone). */
export function inRequests(messages: readonly Message[], maxBytes = MAX_SEND_BYTES): RequestChunk[] {
  const requests: RequestChunk[] = [];
  let request: Message[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (request.length > 0 && bytes + size > maxBytes) {
      requests.push({ messages: request, bytes });
      request = [];
      bytes = 0;
    }
    request.push(message);
    bytes += size;
  }
  if (request.length > 0) requests.push({ messages: request, bytes });
  return requests;
}

/** Sends in order, in requests of at most MAX_SEND_BYTES, each acknowledged before the next. */
async function sendInChunks(
  sender: Producer | Transaction,
  topic: string,
  messages: Message[],
  compression: CompressionTypes = CompressionTypes.None,
): Promise<RecordMetadata[]> {
  const results: RecordMetadata[] = [];
  for (const request of inRequests(messages))
    results.push(...(await sender.send({ topic, acks: -1, compression, messages: request.messages })));
  return results;
}

/** Sends bytes as they are: only for dead letters, which must keep the original value. */
export async function sendRaw(sender: Producer | Transaction, topic: RawTopicRef, messages: Message[]): Promise<RecordMetadata[]> {
  return sendInChunks(sender, topic.name, messages);
}
