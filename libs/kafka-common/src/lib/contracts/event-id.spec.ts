import { z } from 'zod';
import { deriveEventId } from './event-id';

const at = (offset: string, topic = 'input-topic', partition = 0) => ({ topic, partition, offset });
const line = Buffer.from(
  '{"ip":"203.0.113.7","timestamp":"2026-10-10T13:55:36","method":"GET","url":"/","status_code":200,"user_agent":"-"}',
);

describe('deriveEventId', () => {
  it('gives the same record read again the same id', () => {
    expect(deriveEventId(at('42'), line)).toBe(deriveEventId(at('42'), Buffer.from(line)));
  });

  it('gives the same bytes at another offset, partition or topic another id', () => {
    const ids = new Set([
      deriveEventId(at('42'), line),
      deriveEventId(at('43'), line),
      deriveEventId(at('42', 'input-topic', 1), line),
      deriveEventId(at('42', 'other-topic'), line),
    ]);
    expect(ids.size).toBe(4);
  });

  it('gives other bytes at the same place another id', () => {
    expect(deriveEventId(at('42'), line)).not.toBe(deriveEventId(at('42'), Buffer.from(`${line.toString()} `)));
  });

  it('does not let the fields run together (partition 1 offset 23 is not partition 12 offset 3)', () => {
    expect(deriveEventId(at('23', 't', 1), line)).not.toBe(deriveEventId(at('3', 't', 12), line));
  });

  it('is a UUID of version 8 and the RFC 9562 variant', () => {
    const id = deriveEventId(at('0'), line);
    expect(z.uuid().safeParse(id).success).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is the SHA-256 of the documented input, so other tools can compute it', () => {
    // sha256("weblog-event-id\ninput-topic\n0\n0\n" + line), first 16 bytes, version and variant set.
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const hex = createHash('sha256')
      .update(Buffer.concat([Buffer.from('weblog-event-id\ninput-topic\n0\n0\n'), line]))
      .digest('hex');
    const id = deriveEventId(at('0'), line).replaceAll('-', '');
    expect(id.slice(0, 12)).toBe(hex.slice(0, 12));
    expect(id.slice(13, 16)).toBe(hex.slice(13, 16));
    expect(id.slice(17)).toBe(hex.slice(17, 32));
  });
});
