import { KafkaMessage } from 'kafkajs';
import {
  conform,
  decode,
  DeadLetterReason,
  deriveEventId,
  OutgoingRecord,
  PipelineHeaders,
  RecordHeaders,
  timestampToUtc,
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

export interface TransformOptions {
  /** Larger values are rejected as oversize before they are parsed. */
  readonly maxBytes: number;
  /** The IANA zone a timestamp without one is read in. */
  readonly timeZone: string;
}

/** The partition a batch came from: part of the id derived for a record without one. */
export interface BatchSource {
  readonly topic: string;
  readonly partition: number;
}

/**
 * Decodes, validates and upper-cases a batch, in order, adding `event_id` where the record has
 * none and `timestamp_utc`. Records that fail go to `rejected` with their reason; so does a record
 * whose upper-cased form breaks the output contract (upper-casing can lengthen text: `ß` becomes
 * `SS`), which would otherwise fail the whole batch forever.
 */
export function transformBatch(
  source: BatchSource,
  messages: readonly KafkaMessage[],
  transformedAt: number,
  options: TransformOptions,
): TransformedBatch {
  const outputs: OutgoingRecord<TransformedWebLog>[] = [];
  const rejected: Rejected[] = [];
  const stamp = String(transformedAt);
  for (const message of messages) {
    const decoded = decode(WebLogContract, message.value, { maxBytes: options.maxBytes });
    if (!decoded.ok) {
      rejected.push({ message, failure: { reason: decoded.reason, detail: decoded.detail } });
      continue;
    }
    const log = decoded.value;
    const utc = timestampToUtc(log.timestamp, options.timeZone);
    if (utc === undefined) {
      rejected.push({
        message,
        failure: { reason: OUTPUT_CONTRACT_VIOLATION, detail: `timestamp ${log.timestamp} is beyond the year 9999 in UTC` },
      });
      continue;
    }
    // decode succeeded, so the value is a non-empty buffer.
    const eventId = log.event_id ?? deriveEventId({ ...source, offset: message.offset }, message.value as Buffer);
    // Checked here rather than when sent: a record that fails is dead-lettered, not the batch.
    const transformed = conform(TransformedWebLogContract, toUpperCase(log, { event_id: eventId, timestamp_utc: utc }));
    if (!transformed.ok) {
      rejected.push({ message, failure: { reason: OUTPUT_CONTRACT_VIOLATION, detail: transformed.detail } });
      continue;
    }
    const headers: RecordHeaders = { ...message.headers, [PipelineHeaders.transformedAt]: stamp };
    outputs.push({ key: message.key, value: transformed.value, headers });
  }
  return { outputs, rejected };
}
