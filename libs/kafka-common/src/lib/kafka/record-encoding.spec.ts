// kafkajs's record encoder is patched to allocate less: buffers from Node's pool without zero-fill,
// a record sized exactly, headers and varints written in place, timestamp deltas without 64-bit
// emulation; its decoder reads deltas and headers without copies. What one writes must still be
// what the other, and so the broker, reads: every field, header forms included, at every size of
// varint and past the integers a double holds exactly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: unknown) => { buffer: Buffer };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (decoder: unknown, context: unknown) => Decoded;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => {
  readVarInt(): number;
  slice(size: number): unknown;
};

interface Decoded {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

function roundTrip(record: Record<string, unknown>, firstOffset = '1000', firstTimestamp = '1700000000000'): Decoded {
  const bytes = encodeRecord(record).buffer;
  const decoder = new Decoder(bytes);
  const length = decoder.readVarInt();
  return decodeRecord(decoder.slice(length), { firstOffset, firstTimestamp, magicByte: 2 });
}

const text = (value: Buffer | Buffer[] | null | undefined) =>
  Array.isArray(value) ? value.map((v) => v.toString('utf8')) : value?.toString('utf8');

describe('kafkajs record encoding', () => {
  it('reads back key, value, offset, timestamp and every header', () => {
    const decoded = roundTrip({
      offsetDelta: 7,
      timestampDelta: 42,
      key: Buffer.from('203.0.113.9'),
      value: Buffer.from('{"url":"/ü€"}'),
      headers: { 'weblog-run-id': 'run-1', binary: Buffer.from([0, 1, 255]), repeated: ['a', 'bc'], empty: '' },
    });
    expect(decoded.offset).toBe('1007');
    expect(decoded.timestamp).toBe('1700000000042');
    expect(text(decoded.key)).toBe('203.0.113.9');
    expect(text(decoded.value)).toBe('{"url":"/ü€"}');
    expect(text(decoded.headers['weblog-run-id'])).toBe('run-1');
    expect([...(decoded.headers['binary'] as Buffer)]).toEqual([0, 1, 255]);
    expect(text(decoded.headers['repeated'])).toEqual(['a', 'bc']);
    expect(text(decoded.headers['empty'])).toBe('');
  });

  it('writes header text byte for byte: ASCII short and past the short path, and any UTF-8', () => {
    // Short ASCII text is copied by code unit; longer or non-ASCII text goes through the native write.
    const names = ['a', 'n'.repeat(64), 'n'.repeat(65), 'zeit-ü', 'emoji-😀'];
    const values = ['', 'v'.repeat(64), 'v'.repeat(65), 'Grüße €', '😀 \u0000 \u007f'];
    const headers = Object.fromEntries(names.map((name, i) => [name, values[i]]));
    const decoded = roundTrip({ key: 'k', value: 'v', headers: { ...headers, several: ['ü', 'x'.repeat(70), ''] } });
    for (const [i, name] of names.entries()) expect(text(decoded.headers[name])).toBe(values[i]);
    expect(text(decoded.headers['several'])).toEqual(['ü', 'x'.repeat(70), '']);
    expect(Object.keys(decoded.headers)).toEqual([...names, 'several']);
  });

  it('reads back a record without key or headers, and one larger than the pool', () => {
    expect(roundTrip({ key: null, value: 'plain' })).toMatchObject({ key: null, headers: {} });
    const big = Buffer.alloc(70_000, 0x61);
    const decoded = roundTrip({ key: 'k', value: big, headers: { long: 'h'.repeat(5000) } });
    expect(decoded.value?.equals(big)).toBe(true);
    expect(text(decoded.headers['long'])).toBe('h'.repeat(5000));
  });

  it.each([
    0,
    1,
    -1,
    63,
    64,
    -64,
    -65,
    8191,
    8192,
    2 ** 20,
    2 ** 27 - 1,
    2 ** 27,
    -(2 ** 27),
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31,
    2 ** 40,
    -(2 ** 40),
  ])('reads back a timestamp delta of %d', (timestampDelta) => {
    expect(roundTrip({ timestampDelta, key: 'k', value: 'v' }).timestamp).toBe(String(1_700_000_000_000 + timestampDelta));
  });

  it.each([0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 28, 2 ** 31 - 1])('reads back an offset delta of %d', (offsetDelta) => {
    expect(roundTrip({ offsetDelta, key: 'k', value: 'v' }).offset).toBe(String(1000 + offsetDelta));
  });

  it('adds deltas exactly beyond 2^53, where a double no longer counts by one', () => {
    const decoded = roundTrip({ offsetDelta: 3, timestampDelta: 5, key: 'k', value: 'v' }, '9007199254740991', '9223372036854775800');
    expect(decoded.offset).toBe('9007199254740994');
    expect(decoded.timestamp).toBe('9223372036854775805');
  });

  it('keeps headers named like members of every object as headers', () => {
    const headers = roundTrip({
      key: 'k',
      value: 'v',
      headers: Object.fromEntries([
        ['__proto__', 'p'],
        ['toString', 't'],
        ['constructor', ['a', 'b']],
      ]),
    }).headers;
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(text(headers['__proto__'])).toBe('p');
    expect(text(headers['toString'])).toBe('t');
    expect(text(headers['constructor'])).toEqual(['a', 'b']);
  });

  it('never shows bytes of an earlier use of the pool', () => {
    // Fill Node's pool with a marker, then encode records whose bytes must all be their own.
    for (let i = 0; i < 100; i++) Buffer.allocUnsafe(1000).fill(0xee);
    for (let i = 0; i < 50; i++) {
      const bytes = encodeRecord({ key: 'k', value: Buffer.alloc(300, 0x41), headers: { h: 'v' } }).buffer;
      expect(bytes.includes(0xee)).toBe(false);
    }
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{
  firstOffset: string;
  firstTimestamp: string;
  producerId: string;
  firstSequence: number;
  inTransaction: boolean;
  records: Decoded[];
}>;

/** A record batch laid out field by field from Kafka's protocol description: the reference. */
function referenceBatch(
  fields: { firstTimestamp: number; producerId: number; sequence: number; transactional: boolean },
  records: Buffer[],
): Buffer {
  const head = Buffer.alloc(2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  let at = head.writeInt16BE(fields.transactional ? 16 : 0, 0);
  at = head.writeInt32BE(records.length - 1, at);
  at = head.writeBigInt64BE(BigInt(fields.firstTimestamp), at);
  at = head.writeBigInt64BE(BigInt(fields.firstTimestamp), at);
  at = head.writeBigInt64BE(BigInt(fields.producerId), at);
  at = head.writeInt16BE(0, at);
  at = head.writeInt32BE(fields.sequence, at);
  head.writeInt32BE(records.length, at);
  const body = Buffer.concat([head, ...records]);
  const prefix = Buffer.alloc(8 + 4 + 4 + 1 + 4);
  prefix.writeBigInt64BE(0n, 0);
  prefix.writeInt32BE(4 + 1 + 4 + body.length, 8);
  prefix.writeInt32BE(0, 12);
  prefix.writeInt8(2, 16);
  prefix.writeUInt32BE(crc32C(body), 17);
  return Buffer.concat([prefix, body]);
}

describe('kafkajs record batch encoding', () => {
  it.each([0, 1, 3, 500])('writes a batch of %d records byte for byte as the protocol lays it out, and reads it back', async (count) => {
    const records = Array.from({ length: count }, (_, i) =>
      encodeRecord({
        offsetDelta: i,
        timestampDelta: i * 3,
        key: `k${i}`,
        value: Buffer.alloc(50 + (i % 7), 0x41 + (i % 26)),
        headers: { h: String(i) },
      }),
    );
    const fields = { firstTimestamp: 1_700_000_000_000, producerId: 4242, sequence: 17, transactional: count % 2 === 1 };
    const batch = await RecordBatch({
      records,
      firstTimestamp: fields.firstTimestamp,
      maxTimestamp: fields.firstTimestamp,
      producerId: fields.producerId,
      firstSequence: fields.sequence,
      transactional: fields.transactional,
      lastOffsetDelta: count - 1,
    });
    const reference = referenceBatch(
      fields,
      records.map((r) => r.buffer),
    );
    expect(batch.buffer.equals(reference)).toBe(true);
    const decoded = await decodeBatch(new Decoder(batch.buffer));
    expect(decoded).toMatchObject({ firstOffset: '0', producerId: '4242', firstSequence: 17, inTransaction: fields.transactional });
    expect(decoded.records.map((r) => r.offset)).toEqual(records.map((_, i) => String(i)));
    expect(decoded.records.map((r) => text(r.headers['h']))).toEqual(records.map((_, i) => String(i)));
  });
});
