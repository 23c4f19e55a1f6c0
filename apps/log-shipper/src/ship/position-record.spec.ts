import { foldPositions, positionKey } from './position-record';

const record = (key: string | null, value: unknown) => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
});
const at = (position: number, sequence: number) => ({
  path: '/l/a.log',
  device: 1,
  inode: 2,
  fingerprint: '0123456789abcdef',
  position,
  sequence,
});

describe('foldPositions', () => {
  it('keeps the latest position per key of this shipper, forgets tombstones, skips others and garbage', () => {
    const mine = positionKey('s1', { device: 1, inode: 2, fingerprint: '0123456789abcdef' });
    expect(mine).toBe('s1:1-2-0123456789abcdef');
    const folded = foldPositions('s1', [
      record(mine, at(10, 1)),
      record(mine, at(30, 3)),
      record('s1:gone', at(5, 1)),
      record('s1:gone', null),
      record('s2:1-2-0123456789abcdef', at(99, 9)),
      record('s1:bad', '{not json'),
      record('s1:wrong', { ...at(1, 1), position: -1 }),
      record(null, at(1, 1)),
    ]);
    expect([...folded]).toEqual([[mine, at(30, 3)]]);
  });
});
