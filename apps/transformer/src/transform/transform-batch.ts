import { KafkaMessage } from 'kafkajs';
import {
  acceptsUpperCasedAscii,
  conform,
  decode,
  DeadLetterReason,
  deriveEventId,
  isAsciiJson,
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

/** One record's outcome: its transformed value, or why it goes to the dead-letter topic. */
export type RecordOutcome =
  | { readonly ok: true; readonly value: TransformedWebLog }
  | { readonly ok: false; readonly failure: DeadLetterReason };

/**
 * Decodes, validates and upper-cases one record, adding `event_id` where it has none and
 * `timestamp_utc`. A record whose upper-cased form breaks the output contract (upper-casing can
 * lengthen text: `ß` becomes `SS`) fails too, rather than failing the whole batch forever.
 */
export function transformRecord(
  source: BatchSource,
  message: Pick<KafkaMessage, 'offset' | 'value'>,
  options: TransformOptions,
): RecordOutcome {
  const decoded = decode(WebLogContract, message.value, { maxBytes: options.maxBytes });
  if (!decoded.ok) return { ok: false, failure: { reason: decoded.reason, detail: decoded.detail } };
  const log = decoded.value;
  const utc = timestampToUtc(log.timestamp, options.timeZone);
  if (utc === undefined) {
    return {
      ok: false,
      failure: { reason: OUTPUT_CONTRACT_VIOLATION, detail: `timestamp ${log.timestamp} is beyond the year 9999 in UTC` },
    };
  }
  // decode succeeded, so the value is a non-empty buffer.
  const bytes = message.value as Buffer;
  const eventId = log.event_id ?? deriveEventId({ ...source, offset: message.offset }, bytes);
  // Checked here rather than when sent: a record that fails is dead-lettered, not the batch. An
  // all-ASCII record's upper-cased copy keeps every check the input passed (see the contract).
  const transformed = conform(
    TransformedWebLogContract,
    toUpperCase(log, { event_id: eventId, timestamp_utc: utc }),
    isAsciiJson(bytes) ? acceptsUpperCasedAscii : undefined,
  );
  if (!transformed.ok) return { ok: false, failure: { reason: OUTPUT_CONTRACT_VIOLATION, detail: transformed.detail } };
  return { ok: true, value: transformed.value };
}

/** Every record of a batch through `transformRecord`, in order, with the transformer's header added. */
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
    const outcome = transformRecord(source, message, options);
    if (outcome.ok) outputs.push({ key: message.key, value: outcome.value, headers: transformedHeaders(message, stamp) });
    else rejected.push({ message, failure: outcome.failure });
  }
  return { outputs, rejected };
}

/** The record's own headers and the transformer's time. */
export function transformedHeaders(message: KafkaMessage, stamp: string): RecordHeaders {
  return { ...message.headers, [PipelineHeaders.transformedAt]: stamp };
}
