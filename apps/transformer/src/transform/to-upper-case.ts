import { TransformedWebLog, WebLog } from '@weblog/kafka-common';

/** Every string value upper-cased; numbers stay as they are. */
export function toUpperCase(log: WebLog): TransformedWebLog {
  const result: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(log)) {
    result[field] = typeof value === 'string' ? value.toUpperCase() : value;
  }
  return result as TransformedWebLog;
}
