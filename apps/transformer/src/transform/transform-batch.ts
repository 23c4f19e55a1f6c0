import { KafkaMessage } from 'kafkajs';
import {
  conform,
  decode,
  DeadLetterReason,
  OutgoingRecord,
  PipelineHeaders,
  RecordHeaders,
  TransformedWebLog,
  TransformedWebLogContract,
  WebLogContract,
} from '@weblog/kafka-common';
import { toUpperCase } from './to-upper-case';

export const OUTPUT_CONTRACT_VIOLATION = 'output-contract-violation';

export interface Rejected {
  readonly message: KafkaMessage;
  readonly failure: DeadLetterReason;
}

export interface TransformedBatch {
  readonly outputs: OutgoingRecord<TransformedWebLog>[];
  readonly rejected: Rejected[];
}

/**
 * Decodes, validates and upper-cases a batch, in order. Records that fail go to `rejected` with
 * their reason; so does a record whose upper-cased form breaks the output contract (upper-casing
 * can lengthen text: `ß` becomes `SS`), which would otherwise fail the whole batch forever.
 */
export function transformBatch(messages: readonly KafkaMessage[], transformedAt: number, maxBytes: number): TransformedBatch {
  const outputs: OutgoingRecord<TransformedWebLog>[] = [];
  const rejected: Rejected[] = [];
  const stamp = String(transformedAt);
  for (const message of messages) {
    const decoded = decode(WebLogContract, message.value, { maxBytes });
    if (!decoded.ok) {
      rejected.push({ message, failure: { reason: decoded.reason, detail: decoded.detail } });
      continue;
    }
    // Checked here rather than when sent: a record that fails is dead-lettered, not the batch.
    const transformed = conform(TransformedWebLogContract, toUpperCase(decoded.value));
    if (!transformed.ok) {
      rejected.push({ message, failure: { reason: OUTPUT_CONTRACT_VIOLATION, detail: transformed.detail } });
      continue;
    }
    const headers: RecordHeaders = { ...message.headers, [PipelineHeaders.transformedAt]: stamp };
    outputs.push({ key: message.key, value: transformed.value, headers });
  }
  return { outputs, rejected };
}
