import { createHash } from 'node:crypto';

/** Where a record was read: what makes two identical log lines two events. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * The `event_id` of a record that came without one: a UUID of version 8 (RFC 9562, custom) made
 * of the first 122 bits of SHA-256 over the source topic, partition, offset and the value's raw
 * bytes. A record read again after a crash gets the same id, so the archive and the verifier see
 * a re-delivery, not a new event; the same line at another offset is another event.
 */
export function deriveEventId(position: RecordPosition, value: Uint8Array): string {
  // Topic names cannot hold a newline and the numbers are digits: the fields cannot run together.
  const digest = createHash('sha256')
    .update(`weblog-event-id\n${position.topic}\n${position.partition}\n${position.offset}\n`)
    .update(value)
    .digest();
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x80;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
