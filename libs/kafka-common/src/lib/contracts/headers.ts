/**
 * Header names: pipeline metadata travels in headers, never inside the payload.
 * Values are UTF-8 strings; times are epoch milliseconds.
 */
export const PipelineHeaders = {
  runId: 'weblog-run-id',
  sequence: 'weblog-seq',
  producedAt: 'weblog-produced-at',
  transformedAt: 'weblog-transformed-at',
} as const;

export const DeadLetterHeaders = {
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  consumer: 'dlq-consumer',
  reason: 'dlq-reason',
  detail: 'dlq-detail',
  failedAt: 'dlq-failed-at',
} as const;

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type RecordHeaders = Record<string, HeaderValue>;

/** Reads a header as text; Kafka may hand over a Buffer, a string or several values. */
export function headerText(headers: RecordHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

/** Reads a header as a finite number, or undefined when it is absent or not numeric. */
export function headerNumber(headers: RecordHeaders | undefined, name: string): number | undefined {
  const text = headerText(headers, name);
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
