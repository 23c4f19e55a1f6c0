import { KafkaMessage, Message } from 'kafkajs';
import { DeadLetterHeaders, RecordHeaders } from '../contracts/headers';

export interface DeadLetterSource {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export interface DeadLetterReason {
  readonly reason: string;
  readonly detail: string;
}

/**
 * The dead letter for a record: key, value and headers exactly as they arrived, plus headers
 * naming where it came from, who rejected it and why, so it can be inspected and re-driven.
 */
export function deadLetterMessage(source: DeadLetterSource, failure: DeadLetterReason, consumer: string, now = Date.now()): Message {
  const original: RecordHeaders = source.message.headers ?? {};
  return {
    key: source.message.key,
    value: source.message.value,
    headers: {
      ...original,
      [DeadLetterHeaders.sourceTopic]: source.topic,
      [DeadLetterHeaders.sourcePartition]: String(source.partition),
      [DeadLetterHeaders.sourceOffset]: source.message.offset,
      [DeadLetterHeaders.consumer]: consumer,
      [DeadLetterHeaders.reason]: failure.reason,
      [DeadLetterHeaders.detail]: failure.detail,
      [DeadLetterHeaders.failedAt]: String(now),
    },
  };
}
