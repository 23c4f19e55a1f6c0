import { TransformedWebLog, WebLog } from '@weblog/kafka-common';

/** What the transformer adds to a web log before upper-casing it. */
export interface Additions {
  readonly event_id: string;
  readonly timestamp_utc: string;
}

/** Every string value upper-cased, extra fields included; numbers, booleans and nulls stay as they are. */
export function toUpperCase(log: WebLog, additions: Additions): TransformedWebLog {
  const result: Record<string, unknown> = {};
  const fields = log as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    const value = fields[field];
    result[field] = typeof value === 'string' ? value.toUpperCase() : value;
  }
  result['event_id'] = additions.event_id.toUpperCase();
  result['timestamp_utc'] = additions.timestamp_utc;
  return result as TransformedWebLog;
}
