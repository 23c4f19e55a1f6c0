// kafkajs's per-record arithmetic is patched for speed: murmur2 (which picks a keyed record's
// partition) in 32-bit integers instead of 64-bit emulation, CRC-32C eight bytes a step, and the
// grouping of a send's messages by partition in one pass. Each must give exactly what it gave:
// another partition for a key would split a client's records across partitions, and a wrong CRC
// makes the broker refuse the batch.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (options: {
  topic: string;
  partitionMetadata: unknown[];
  messages: { value: string }[];
  partitioner: (options: { message: { value: string } }) => number;
}) => Record<string, { value: string }[]>;

/** Seeded bytes (a linear congruential generator): the same cases on every run. */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out[i] = state >>> 16;
  }
  return out;
}

/** Java's Utils.murmur2 written with BigInt, wrapping to int as Java does: the reference. */
function javaMurmur2(data: Buffer): number {
  const int = (value: bigint) => BigInt.asIntN(32, value);
  const ushr = (value: bigint, bits: bigint) => BigInt.asUintN(32, value) >> bits;
  const m = 0x5bd1e995n;
  let h = int(0x9747b28cn ^ BigInt(data.length));
  const length4 = Math.floor(data.length / 4);
  for (let i = 0; i < length4; i++) {
    const at = i * 4;
    let k = int(
      BigInt(data[at] ?? 0) + (BigInt(data[at + 1] ?? 0) << 8n) + (BigInt(data[at + 2] ?? 0) << 16n) + (BigInt(data[at + 3] ?? 0) << 24n),
    );
    k = int(k * m);
    k = int(k ^ ushr(k, 24n));
    k = int(k * m);
    h = int(int(h * m) ^ k);
  }
  const tail = data.length & ~3;
  const left = data.length % 4;
  if (left >= 3) h = int(h ^ (BigInt(data[tail + 2] ?? 0) << 16n));
  if (left >= 2) h = int(h ^ (BigInt(data[tail + 1] ?? 0) << 8n));
  if (left >= 1) h = int(int(h ^ BigInt(data[tail] ?? 0)) * m);
  h = int(h ^ ushr(h, 13n));
  h = int(h * m);
  h = int(h ^ ushr(h, 15n));
  return Number(h);
}

/** CRC-32C one bit at a time from the polynomial: the reference. */
function bitwiseCrc32C(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('kafkajs murmur2', () => {
  it.each([
    // The vectors of the Java client's UtilsTest.
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %s as the Java client does', (key, hash) => {
    expect(murmur2(key)).toBe(hash);
    expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it('agrees with Java arithmetic on 2,000 seeded keys of every length up to 64 bytes', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => bytes(i + 1, i % 65));
    const wrong = keys.filter((key) => murmur2(key) !== javaMurmur2(key)).map((key) => key.toString('hex'));
    expect(wrong).toEqual([]);
  });
});

describe('kafkajs CRC-32C', () => {
  it.each([
    // RFC 3720, B.4, and the check value of the polynomial.
    ['123456789', Buffer.from('123456789'), 0xe3069283],
    ['32 zero bytes', Buffer.alloc(32), 0x8a9136aa],
    ['32 bytes of 0xff', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['32 ascending bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ['32 descending bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
  ])('gives the known CRC of %s', (_name, data, crc) => {
    expect(crc32C(data)).toBe(crc);
  });

  it('agrees with the bitwise definition for every length up to 300 bytes, and at any offset into a buffer', () => {
    const source = bytes(99, 4096);
    const cases = Array.from({ length: 301 }, (_, length) => source.subarray(length % 13, (length % 13) + length));
    const wrong = cases.filter((data) => crc32C(data) !== bitwiseCrc32C(data)).map((data) => data.length);
    expect(wrong).toEqual([]);
  });
});

describe('kafkajs grouping of a send by partition', () => {
  it('keeps every message, each partition in the order they were given', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ value: String(i) }));
    const groups = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => Number(message.value) % 3,
    });
    expect(Object.keys(groups).sort()).toEqual(['0', '1', '2']);
    for (const [partition, group] of Object.entries(groups)) {
      expect(group).toEqual(messages.filter((m) => Number(m.value) % 3 === Number(partition)));
    }
  });

  it('groups nothing when the topic has no partitions known yet', () => {
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ value: 'a' }], partitioner: () => 0 })).toEqual({});
  });
});
