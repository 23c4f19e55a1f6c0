import { objectKey, parseObjectKey, topicPrefix } from './object-key';

const when = new Date('2026-11-23T07:59:59.999Z');

describe('objectKey', () => {
  it('is deterministic, zero-padded and parseable in the offset layout', () => {
    const key = objectKey('offset', 'topics', { topic: 'output-topic', partition: 2, firstOffset: 1234n }, when, false);
    expect(key).toBe('topics/output-topic/partition=2/output-topic+2+00000000000000001234.jsonl');
    expect(parseObjectKey(key)).toEqual({ topic: 'output-topic', partition: 2, firstOffset: 1234n, gzip: false });
  });

  it('puts the first record hour in the time layout and marks gzip', () => {
    const key = objectKey('time', 'archive/', { topic: 't', partition: 0, firstOffset: 0n }, when, true);
    expect(key).toBe('archive/t/dt=2026-11-23/hour=07/partition=0/t+0+00000000000000000000.jsonl.gz');
    expect(parseObjectKey(key)).toEqual({ topic: 't', partition: 0, firstOffset: 0n, gzip: true, hour: '2026-11-23T07' });
  });

  it('sorts keys of one partition in offset order', () => {
    const keys = [99n, 1000n, 5n].map((firstOffset) => objectKey('offset', 'd', { topic: 't', partition: 1, firstOffset }, when, false));
    expect([...keys].sort()).toEqual([keys[2], keys[0], keys[1]]);
  });

  it('ignores keys that are not archive objects', () => {
    expect(parseObjectKey('topics/t/_replay/checkpoint.json')).toBeUndefined();
    expect(topicPrefix('', 't')).toBe('t/');
  });
});
