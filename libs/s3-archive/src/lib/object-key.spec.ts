import { KeyFormat, objectKey, parseObjectKey, topicPrefix } from './object-key';

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
    expect(parseObjectKey(key)).toEqual({ topic: 'output-topic', partition: 2, firstOffset: 1234n, gzip: false });
  });

  it('puts the time partition above partition= in the time layout and marks gzip', () => {
    const key = objectKey(
      format({ layout: 'time', topicsDir: 'archive/', gzip: true }),
      { topic: 't', partition: 0, firstOffset: 0n },
      'dt=2026-11-23/hour=07',
    );
    expect(key).toBe('archive/t/dt=2026-11-23/hour=07/partition=0/t+0+00000000000000000000.jsonl.gz');
    expect(parseObjectKey(key)).toEqual({ topic: 't', partition: 0, firstOffset: 0n, gzip: true, hour: '2026-11-23T07' });
  });

  it('names files as the Kafka Connect S3 sink does in the connect naming: pad width, .json, time path above the file', () => {
    const parts = { topic: 'output-topic', partition: 1, firstOffset: 42n };
    expect(objectKey(format({ naming: 'connect' }), parts, '')).toBe('topics/output-topic/partition=1/output-topic+1+0000000042.json');
    expect(objectKey(format({ naming: 'connect', layout: 'time', gzip: true, zeroPadWidth: 4 }), parts, 'year=2026/month=11')).toBe(
      'topics/output-topic/year=2026/month=11/output-topic+1+0042.json.gz',
    );
    expect(parseObjectKey('topics/output-topic/year=2026/month=11/output-topic+1+0042.json.gz')).toEqual({ ...parts, gzip: true });
  });

  it('sorts keys of one partition in offset order', () => {
    const keys = [99n, 1000n, 5n].map((firstOffset) =>
      objectKey(format({ topicsDir: 'd' }), { topic: 't', partition: 1, firstOffset }, ''),
    );
    expect([...keys].sort()).toEqual([keys[2], keys[0], keys[1]]);
  });

  it('ignores keys that are not archive objects', () => {
    expect(parseObjectKey('topics/t/_replay/checkpoint.json')).toBeUndefined();
    expect(topicPrefix('', 't')).toBe('t/');
  });
});
