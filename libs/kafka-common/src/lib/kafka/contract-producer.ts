import { CompressionTypes, Kafka, Message, Producer, ProducerConfig, RecordMetadata, Transaction } from 'kafkajs';
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

/** Idempotent, acks=all: a send resolves only once every in-sync replica has the record. */
export const SAFE_PRODUCER_CONFIG: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 5,
  allowAutoTopicCreation: false,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5000 },
};

export function createSafeProducer(kafka: Kafka, extra: ProducerConfig = {}): Producer {
  return kafka.producer({ ...SAFE_PRODUCER_CONFIG, ...extra });
}

/** A transactional producer: one in-flight request, as kafkajs requires for transactions. */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string, transactionTimeout = 60000): Producer {
  return kafka.producer({ ...SAFE_PRODUCER_CONFIG, maxInFlightRequests: 1, transactionalId, transactionTimeout });
}

export function encodeRecords<T>(topic: TopicRef<T>, records: readonly OutgoingRecord<T>[]): Message[] {
  return records.map((record) => ({
    key: record.key,
    value: encode(topic.definition.contract, record.value),
    headers: record.headers,
    ...(record.partition === undefined ? {} : { partition: record.partition }),
  }));
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
  if (records.length === 0) return [];
  return sender.send({ topic: topic.name, acks: -1, compression, messages: encodeRecords(topic, records) });
}

/** Sends bytes as they are: only for dead letters, which must keep the original value. */
export async function sendRaw(sender: Producer | Transaction, topic: RawTopicRef, messages: Message[]): Promise<RecordMetadata[]> {
  if (messages.length === 0) return [];
  return sender.send({ topic: topic.name, acks: -1, messages });
}
