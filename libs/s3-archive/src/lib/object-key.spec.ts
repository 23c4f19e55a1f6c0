import { generationKey, KeyFormat, objectKey, parseObjectKey, topicPrefix } from './object-key';

const format = (overrides: Partial<KeyFormat> = {}): KeyFormat => ({
  layout: 'offset',
  topicsDir: 'topics',
  naming: 'archiver',
  zeroPadWidth: 10,
  gzip: false,
  ...overrides,
});

describe('objectKey', () => {
  it('is deterministic, zero-padded and parseable in the offset layout', () => {
    const key = objectKey(format(), { topic: 'output-topic', partition: 2, firstOffset: 1234n }, '');
    expect(key).toBe('topics/output-topic/partition=2/output-topic+2+00000000000000001234.jsonl');
    expect(parseObjectKey(key)).toEqual({ topic: 'output-topic', partition: 2, firstOffset: 1234n, generation: 0, gzip: false });
  });

  it('puts the time partition above partition= in the time layout and marks gzip', () => {
    const key = objectKey(
      format({ layout: 'time', topicsDir: 'archive/', gzip: true }),
      { topic: 't', partition: 0, firstOffset: 0n },
      'dt=2026-11-23/hour=07',
    );
    expect(key).toBe('archive/t/dt=2026-11-23/hour=07/partition=0/t+0+00000000000000000000.jsonl.gz');
    expect(parseObjectKey(key)).toEqual({ topic: 't', partition: 0, firstOffset: 0n, generation: 0, gzip: true, hour: '2026-11-23T07' });
  });

  it('names files as the Kafka Connect S3 sink does in the connect naming: pad width, .json, time path above the file', () => {
    const parts = { topic: 'output-topic', partition: 1, firstOffset: 42n };
    expect(objectKey(format({ naming: 'connect' }), parts, '')).toBe('topics/output-topic/partition=1/output-topic+1+0000000042.json');
    expect(objectKey(format({ naming: 'connect', layout: 'time', gzip: true, zeroPadWidth: 4 }), parts, 'year=2026/month=11')).toBe(
      'topics/output-topic/year=2026/month=11/output-topic+1+0042.json.gz',
    );
    expect(parseObjectKey('topics/output-topic/year=2026/month=11/output-topic+1+0042.json.gz')).toEqual({
      ...parts,
      generation: 0,
      gzip: true,
    });
  });

  it('sorts keys of one partition in offset order', () => {
    const keys = [99n, 1000n, 5n].map((firstOffset) =>
      objectKey(format({ topicsDir: 'd' }), { topic: 't', partition: 1, firstOffset }, ''),
    );
    expect([...keys].sort()).toEqual([keys[2], keys[0], keys[1]]);
  });

  it('names later generations after the start offset and parses them back; generation 0 keys are unchanged', () => {
    const parts = { topic: 'output-topic', partition: 1, firstOffset: 42n };
    const plain = objectKey(format({ gzip: true }), parts, '');
    expect(objectKey(format({ gzip: true }), { ...parts, generation: 0 }, '')).toBe(plain);
    const second = objectKey(format({ gzip: true }), { ...parts, generation: 2 }, '');
    expect(second).toBe('topics/output-topic/partition=1/output-topic+1+00000000000000000042+g2.jsonl.gz');
    expect(generationKey(plain, 2)).toBe(second);
    expect(parseObjectKey(second)).toEqual({ ...parts, generation: 2, gzip: true });
    const connect = objectKey(format({ naming: 'connect', layout: 'time' }), parts, 'dt=2026-11-23/hour=07');
    expect(generationKey(connect, 1)).toBe('topics/output-topic/dt=2026-11-23/hour=07/output-topic+1+0000000042+g1.json');
    expect(parseObjectKey(generationKey(connect, 1))).toMatchObject({ generation: 1, hour: '2026-11-23T07' });
    expect(() => generationKey(second, 3)).toThrow('not a generation-0 archive key');
  });

  it('ignores keys that are not archive objects', () => {
    expect(parseObjectKey('topics/t/_generations/partition=0/g1')).toBeUndefined();
    expect(parseObjectKey('topics/t/_replay/checkpoint.json')).toBeUndefined();
    expect(topicPrefix('', 't')).toBe('t/');
  });
});
