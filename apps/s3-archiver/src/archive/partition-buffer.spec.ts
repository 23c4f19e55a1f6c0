import { PartitionBuffer } from './partition-buffer';

const record = (offset: number, timestamp = 0, timePath = '') => ({
  offset: BigInt(offset),
  line: Buffer.from(`{"o":${offset}}\n`),
  timestamp,
  timePath,
});

const offsets = (planned: { records: readonly { offset: bigint }[] } | undefined) => planned?.records.map((r) => Number(r.offset));

describe('PartitionBuffer', () => {
  it('commits the first buffered offset, then the next unseen one once everything is archived', () => {
    const buffer = new PartitionBuffer(10);
    expect(buffer.committable()).toBeUndefined();
    for (let o = 5; o < 10; o++) buffer.append(record(o), 100 + o);
    expect(buffer.committable()).toBe(5n);
    buffer.dropRange(5n, 7n);
    expect(buffer.committable()).toBe(8n);
    buffer.dropRange(8n, 9n);
    expect(buffer.committable()).toBe(10n);
    expect(buffer.size).toBe(0);
    expect(buffer.bytes).toBe(0);
  });

  it('commits no further than the oldest record still buffered when a later window was written first', () => {
    const buffer = new PartitionBuffer(10);
    for (let o = 0; o < 30; o++) buffer.append(record(o), 0);
    buffer.dropRange(10n, 19n);
    buffer.dropRange(20n, 29n);
    expect(buffer.committable()).toBe(0n);
    expect(buffer.size).toBe(10);
    buffer.dropRange(0n, 9n);
    expect(buffer.committable()).toBe(30n);
  });

  it('recognises redelivered offsets so they are not buffered twice', () => {
    const buffer = new PartitionBuffer(10);
    buffer.append(record(0), 0);
    buffer.append(record(1), 0);
    expect(buffer.seen(0n)).toBe(true);
    expect(buffer.seen(1n)).toBe(true);
    expect(buffer.seen(2n)).toBe(false);
  });

  it('keeps the arrival time of the oldest remaining record for the rotate interval', () => {
    const buffer = new PartitionBuffer(10);
    buffer.append(record(0), 1000);
    buffer.append(record(1), 2000);
    expect(buffer.waiting(new Map())).toEqual({ size: 2, openedAt: 1000 });
    buffer.dropRange(0n, 0n);
    expect(buffer.waiting(new Map())).toEqual({ size: 1, openedAt: 2000 });
  });

  it('leaves the windows being written out of what waits for the flush rules', () => {
    const buffer = new PartitionBuffer(10);
    for (let o = 0; o < 25; o++) buffer.append(record(o), 1000 + o);
    expect(buffer.waiting(new Map([[0n, true]]))).toEqual({ size: 15, openedAt: 1010 });
    expect(
      buffer.waiting(
        new Map([
          [0n, true],
          [1n, true],
        ]),
      ),
    ).toEqual({ size: 5, openedAt: 1020 });
    expect(
      buffer.waiting(
        new Map([
          [0n, true],
          [1n, true],
          [2n, true],
        ]),
      ),
    ).toEqual({ size: 0, openedAt: undefined });
  });

  it('skips what another writer archived beyond the buffer, so later deliveries of it are ignored', () => {
    const buffer = new PartitionBuffer(10);
    buffer.append(record(10), 0);
    buffer.dropRange(10n, 19n);
    expect(buffer.committable()).toBe(20n);
    expect(buffer.seen(15n)).toBe(true);
  });

  it('moves past a dead-lettered record without buffering it', () => {
    const buffer = new PartitionBuffer(10);
    buffer.skip(3n);
    expect(buffer.committable()).toBe(4n);
    buffer.append(record(4), 0);
    expect(buffer.committable()).toBe(4n);
  });

  it('counts the records and bytes it holds', () => {
    const buffer = new PartitionBuffer(10);
    buffer.append(record(1), 0);
    buffer.append(record(2), 0);
    expect(buffer.size).toBe(2);
    expect(buffer.bytes).toBe(record(1).line.length + record(2).line.length);
  });

  describe('objects in windows of flush size offsets', () => {
    it('plans a full window as one object, ready at once', () => {
      const buffer = new PartitionBuffer(10);
      for (let o = 0; o < 25; o++) buffer.append(record(o), 0);
      expect(buffer.windowIndexes).toEqual([0n, 1n, 2n]);
      expect(buffer.nextObject(0n)).toMatchObject({ end: 'size' });
      expect(offsets(buffer.nextObject(1n))).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      expect(buffer.nextObject(2n)).toMatchObject({ end: 'tail' });
      expect(offsets(buffer.nextObject(2n))).toEqual([20, 21, 22, 23, 24]);
    });

    it('never lets an object cross a window, even when offsets are missing (transaction markers, aborted records)', () => {
      const buffer = new PartitionBuffer(10);
      for (const o of [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]) buffer.append(record(o), 0);
      expect(buffer.nextObject(0n)).toMatchObject({ end: 'window' });
      expect(offsets(buffer.nextObject(0n))).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
      expect(offsets(buffer.nextObject(1n))).toEqual([10, 11]);
    });

    it('starts the window where an object of another writer ended, and plans the rest of the window after it', () => {
      const buffer = new PartitionBuffer(10);
      for (let o = 0; o < 20; o++) buffer.append(record(o), 0);
      // Someone else's object held 0..4 (written by time): the window goes on from 5 to its end.
      buffer.dropRange(0n, 4n);
      expect(buffer.nextObject(0n)).toMatchObject({ end: 'window' });
      expect(offsets(buffer.nextObject(0n))).toEqual([5, 6, 7, 8, 9]);
      expect(offsets(buffer.nextObject(1n))).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    });

    it('ends an object where the next record is of another time partition', () => {
      const buffer = new PartitionBuffer(10);
      buffer.append(record(0, 0, 'hour=10'), 0);
      buffer.append(record(1, 0, 'hour=10'), 0);
      buffer.append(record(2, 0, 'hour=11'), 0);
      expect(buffer.nextObject(0n)).toMatchObject({ end: 'partition' });
      expect(offsets(buffer.nextObject(0n))).toEqual([0, 1]);
      buffer.dropRange(0n, 1n);
      expect(buffer.nextObject(0n)).toMatchObject({ end: 'tail' });
    });

    it('drops an object of another writer that ran past its window from every window it covers', () => {
      const buffer = new PartitionBuffer(10);
      for (let o = 0; o < 30; o++) buffer.append(record(o), 0);
      buffer.dropRange(0n, 14n);
      expect(buffer.holds(12n)).toBe(false);
      expect(buffer.holds(15n)).toBe(true);
      expect(buffer.windowIndexes).toEqual([1n, 2n]);
      expect(offsets(buffer.nextObject(1n))).toEqual([15, 16, 17, 18, 19]);
      expect(buffer.size).toBe(15);
      expect(buffer.committable()).toBe(15n);
    });

    it('opens a window again when its tail was written by time and more of its records come', () => {
      const buffer = new PartitionBuffer(10);
      for (let o = 20; o < 23; o++) buffer.append(record(o), 0);
      buffer.dropRange(20n, 22n);
      expect(buffer.windowIndexes).toEqual([]);
      buffer.append(record(23), 0);
      expect(buffer.nextObject(2n)).toMatchObject({ end: 'tail' });
      buffer.append(record(30), 0);
      expect(buffer.nextObject(2n)).toMatchObject({ end: 'window' });
      expect(buffer.committable()).toBe(23n);
    });
  });
});
