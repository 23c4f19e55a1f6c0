import { PartitionBuffer } from './partition-buffer';

const record = (offset: number, timestamp = 0, timePath = '') => ({
  offset: BigInt(offset),
  line: Buffer.from(`{"o":${offset}}\n`),
  timestamp,
  timePath,
});

describe('PartitionBuffer', () => {
  it('commits the first buffered offset, then the next unseen one once everything is archived', () => {
    const buffer = new PartitionBuffer();
    expect(buffer.committable()).toBeUndefined();
    for (let o = 5; o < 10; o++) buffer.append(record(o), 100 + o);
    expect(buffer.committable()).toBe(5n);
    buffer.dropThrough(7n);
    expect(buffer.committable()).toBe(8n);
    buffer.dropThrough(9n);
    expect(buffer.committable()).toBe(10n);
    expect(buffer.size).toBe(0);
    expect(buffer.bytes).toBe(0);
  });

  it('recognises redelivered offsets so they are not buffered twice', () => {
    const buffer = new PartitionBuffer();
    buffer.append(record(0), 0);
    buffer.append(record(1), 0);
    expect(buffer.seen(0n)).toBe(true);
    expect(buffer.seen(1n)).toBe(true);
    expect(buffer.seen(2n)).toBe(false);
  });

  it('keeps the arrival time of the oldest remaining record for the rotate interval', () => {
    const buffer = new PartitionBuffer();
    buffer.append(record(0), 1000);
    buffer.append(record(1), 2000);
    expect(buffer.openedAt).toBe(1000);
    buffer.dropThrough(0n);
    expect(buffer.openedAt).toBe(2000);
  });

  it('skips what another writer archived beyond the buffer, so later deliveries of it are ignored', () => {
    const buffer = new PartitionBuffer();
    buffer.append(record(10), 0);
    buffer.dropThrough(19n);
    expect(buffer.committable()).toBe(20n);
    expect(buffer.seen(15n)).toBe(true);
  });

  it('moves past a dead-lettered record without buffering it', () => {
    const buffer = new PartitionBuffer();
    buffer.skip(3n);
    expect(buffer.committable()).toBe(4n);
    buffer.append(record(4), 0);
    expect(buffer.committable()).toBe(4n);
  });

  it('tells the time partition of what it holds', () => {
    const buffer = new PartitionBuffer();
    expect(buffer.timePath).toBeUndefined();
    buffer.append(record(1, 0, 'dt=2026-11-23/hour=10'), 0);
    expect(buffer.timePath).toBe('dt=2026-11-23/hour=10');
  });

  it('counts bytes of what it holds', () => {
    const buffer = new PartitionBuffer();
    buffer.append(record(1), 0);
    buffer.append(record(2), 0);
    expect(buffer.bytes).toBe(record(1).line.length + record(2).line.length);
    expect(buffer.peek(1).map((r) => r.offset)).toEqual([1n]);
  });
});
