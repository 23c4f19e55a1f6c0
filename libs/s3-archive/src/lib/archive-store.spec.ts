import { sameRecords } from './archive-store';

const envelope = (offset: number, id: string) =>
  JSON.stringify({ topic: 't', partition: 0, offset: String(offset), timestamp: '0', key: null, headers: {}, value: { event_id: id } });
const bare = (id: string) => JSON.stringify({ event_id: id, url: '/' });
const body = (...lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));

describe('sameRecords', () => {
  it('compares the event ids at the offsets both objects hold, whatever their lengths', () => {
    const existing = body(envelope(0, 'a'), envelope(1, 'b'), envelope(2, 'c'));
    expect(sameRecords(body(envelope(0, 'a'), envelope(1, 'b')), existing)).toBe(true);
    expect(sameRecords(body(envelope(0, 'a'), envelope(1, 'b'), envelope(2, 'c'), envelope(3, 'd')), existing)).toBe(true);
    expect(sameRecords(body(envelope(0, 'x'), envelope(1, 'y')), existing)).toBe(false);
    // One id differs: not the same incarnation, even if the rest agree.
    expect(sameRecords(body(envelope(0, 'a'), envelope(1, 'z')), existing)).toBe(false);
  });

  it('compares by offset, not by line: a dead-lettered record leaves a gap in one object only if the logs differ', () => {
    const existing = body(envelope(0, 'a'), envelope(2, 'c'));
    expect(sameRecords(body(envelope(0, 'a'), envelope(2, 'c')), existing)).toBe(true);
    expect(sameRecords(body(envelope(0, 'a'), envelope(1, 'c')), existing)).toBe(true);
    expect(sameRecords(body(envelope(0, 'a'), envelope(2, 'b')), existing)).toBe(false);
  });

  it('compares bare values (no offsets) by event id in order', () => {
    const existing = body(bare('a'), bare('b'), bare('c'));
    expect(sameRecords(body(bare('a'), bare('b')), existing)).toBe(true);
    expect(sameRecords(body(bare('b'), bare('a')), existing)).toBe(false);
    expect(sameRecords(body(envelope(0, 'a'), envelope(1, 'b')), existing)).toBe(true);
  });

  it('finds nothing in common with an empty or unreadable object', () => {
    expect(sameRecords(body(bare('a')), Buffer.alloc(0))).toBe(false);
    expect(sameRecords(body(bare('a')), body('not json'))).toBe(false);
  });
});
