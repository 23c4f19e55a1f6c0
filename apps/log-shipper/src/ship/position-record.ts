import { z } from 'zod';
import { FileIdentity, identityKey } from '../files/file-tailer';

/** The value of a record in the offsets topic: where a file's shipped lines end. */
export const positionRecordSchema = z.strictObject({
  path: z.string(),
  device: z.number().int().nonnegative(),
  inode: z.number().int().nonnegative(),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  position: z.number().int().nonnegative(),
  sequence: z.number().int().nonnegative(),
});
export type PositionRecord = z.infer<typeof positionRecordSchema>;

/** The key of a file's position, also its run id: `<SHIPPER_ID>:<device>-<inode>-<fingerprint>`. */
export function positionKey(shipperId: string, identity: FileIdentity): string {
  return `${shipperId}:${identityKey(identity)}`;
}

/**
 * Folds records of the offsets topic (in offset order) into the latest position per key of this
 * shipper. A record that does not parse is skipped: it cannot be ours, and refusing to start over
 * it would stop every file. A tombstone (null value) forgets the key.
 */
export function foldPositions(
  shipperId: string,
  records: Iterable<{ key: Buffer | null; value: Buffer | null }>,
): Map<string, PositionRecord> {
  const positions = new Map<string, PositionRecord>();
  const prefix = `${shipperId}:`;
  for (const { key, value } of records) {
    const name = key?.toString('utf8');
    if (name === undefined || !name.startsWith(prefix)) continue;
    if (value === null) {
      positions.delete(name);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.toString('utf8'));
    } catch {
      continue;
    }
    const result = positionRecordSchema.safeParse(parsed);
    if (result.success) positions.set(name, result.data);
  }
  return positions;
}
