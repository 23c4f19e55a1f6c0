import { isoMilliseconds, isTimeZone, isWebLogTimestamp, parseWebLogTimestamp, timestampToUtc, ZoneResolver } from './timestamp';

describe('web-log timestamps', () => {
  it.each([
    ['2026-10-10T13:55:36.123Z', '2026-10-10T13:55:36.123Z'],
    ['2026-10-10T13:55:36Z', '2026-10-10T13:55:36.000Z'],
    ['2026-10-10T13:55:36.5Z', '2026-10-10T13:55:36.500Z'],
    ['2026-10-10T13:55:36.123456Z', '2026-10-10T13:55:36.123456Z'],
    ['2026-10-10T13:55:36.1234Z', '2026-10-10T13:55:36.1234Z'],
    ['2026-10-10T13:55:36+09:00', '2026-10-10T04:55:36.000Z'],
    ['2026-10-10T13:55:36+0900', '2026-10-10T04:55:36.000Z'],
    ['2026-10-10T13:55:36.654321-05:30', '2026-10-10T19:25:36.654321Z'],
    ['2026-10-10T13:55:36.654321', '2026-10-10T13:55:36.654321Z'],
    ['2026-10-10 13:55:36.654321', '2026-10-10T13:55:36.654321Z'],
    ['2026-10-10 13:55:36+00:00', '2026-10-10T13:55:36.000Z'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00.000Z'],
    ['10/Oct/2026:13:55:36 +0900', '2026-10-10T04:55:36.000Z'],
    ['10/OCT/2026:13:55:36 +0900', '2026-10-10T04:55:36.000Z'],
    ['01/Jan/2026:00:00:00 -0800', '2026-01-01T08:00:00.000Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
    ['0099-03-01T00:00:00Z', '0099-03-01T00:00:00.000Z'],
    ['0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ['2026-10-10 13:55:36.123Z', '2026-10-10T13:55:36.123Z'],
    ['2026-10-10T13:55:36.123+00:00', '2026-10-10T13:55:36.123Z'],
    ['2026-10-10T13:55:36.1234-0000', '2026-10-10T13:55:36.1234Z'],
  ])('reads %s as %s', (text, utc) => {
    expect(isWebLogTimestamp(text)).toBe(true);
    expect(timestampToUtc(text)).toBe(utc);
  });

  it.each([
    ['February 30th', '2026-02-30T10:00:00Z'],
    ['29 February of a common year', '2026-02-29T10:00:00Z'],
    ['29 February of 1900 (no leap year)', '1900-02-29T10:00:00Z'],
    ['31 April', '2026-04-31T10:00:00Z'],
    ['month 13', '2026-13-01T10:00:00Z'],
    ['month 0', '2026-00-01T10:00:00Z'],
    ['day 0', '2026-01-00T10:00:00Z'],
    ['hour 24', '2026-01-01T24:00:00Z'],
    ['minute 60', '2026-01-01T10:60:00Z'],
    ['second 60', '2026-01-01T10:00:60Z'],
    ['February 30th in the form of the answer', '2026-02-30T10:00:00.000Z'],
    ['second 60 in the form of the answer', '2026-12-31T23:59:60.000Z'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['7 fractional digits', '2026-01-01T10:00:00.1234567Z'],
    ['an empty fraction', '2026-01-01T10:00:00.Z'],
    ['offset minute 60', '2026-01-01T10:00:00+05:60'],
    ['offset beyond 18 hours', '2026-01-01T10:00:00+19:00'],
    ['offset of hours only', '2026-01-01T10:00:00+09'],
    ['lower-case z', '2026-01-01T10:00:00z'],
    ['a date only', '2026-01-01'],
    ['no seconds', '2026-01-01T10:00Z'],
    ['epoch seconds', '1791640536'],
    ['RFC 2822', 'Sat, 10 Oct 2026 13:55:36 +0900'],
    ['impossible access-log date', '31/Feb/2026:13:55:36 +0900'],
    ['unknown access-log month', '10/Okt/2026:13:55:36 +0900'],
    ['access-log form without offset', '10/Oct/2026:13:55:36'],
    ['access-log form with a colon offset', '10/Oct/2026:13:55:36 +09:00'],
    ['surrounding spaces', ' 2026-01-01T10:00:00Z'],
    ['a long text', `2026-01-01T10:00:00Z${' '.repeat(100)}`],
  ])('refuses %s', (_name, text) => {
    expect(isWebLogTimestamp(text)).toBe(false);
    expect(timestampToUtc(text)).toBeUndefined();
  });

  it('keeps the fields and the zone as written', () => {
    expect(parseWebLogTimestamp('2026-10-10T13:55:36.042-0130')).toEqual({
      year: 2026,
      month: 10,
      day: 10,
      hour: 13,
      minute: 55,
      second: 36,
      fraction: '042',
      offsetMinutes: -90,
    });
    expect(parseWebLogTimestamp('2026-10-10T13:55:36')?.offsetMinutes).toBeUndefined();
  });

  it('gives the text itself for a text already in the form of the answer, as the arithmetic would', () => {
    const next = (seed: number) => () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const random = next(11);
    const wrong: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const iso = new Date(Math.floor(random() * 253402300800000)).toISOString();
      const text = random() < 0.5 ? iso : `${iso.slice(0, -1)}${String(Math.floor(random() * 1000)).padStart(3, '0')}Z`;
      const written = `${text.slice(0, -1)}+00:00`;
      if (timestampToUtc(text) !== text || timestampToUtc(written) !== text) wrong.push(text);
    }
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it('gives up on an instant beyond the year 9999', () => {
    expect(timestampToUtc('9999-12-31T23:00:00-05:00')).toBeUndefined();
  });
});

describe('zone-less timestamps in a configured zone', () => {
  it.each([
    ['Asia/Tokyo', '2026-10-10T13:55:36', '2026-10-10T04:55:36.000Z'],
    ['Europe/Berlin', '2026-01-15 12:00:00.250', '2026-01-15T11:00:00.250Z'],
    ['Europe/Berlin', '2026-07-15T12:00:00', '2026-07-15T10:00:00.000Z'],
    ['Asia/Kolkata', '2026-07-15T12:00:00.123456', '2026-07-15T06:30:00.123456Z'],
    ['America/New_York', '2026-01-15T12:00:00', '2026-01-15T17:00:00.000Z'],
    ['America/New_York', '2026-07-15T12:00:00', '2026-07-15T16:00:00.000Z'],
    // 8 March 2026, 02:00 EST: the clocks skip to 03:00 EDT.
    ['America/New_York', '2026-03-08T01:59:59', '2026-03-08T06:59:59.000Z'],
    ['America/New_York', '2026-03-08T02:30:00', '2026-03-08T07:30:00.000Z'],
    ['America/New_York', '2026-03-08T03:00:00', '2026-03-08T07:00:00.000Z'],
    // 1 November 2026, 02:00 EDT: the clocks go back to 01:00 EST, 01:30 happens twice.
    ['America/New_York', '2026-11-01T00:59:59', '2026-11-01T04:59:59.000Z'],
    ['America/New_York', '2026-11-01T01:30:00', '2026-11-01T05:30:00.000Z'],
    ['America/New_York', '2026-11-01T02:00:00', '2026-11-01T07:00:00.000Z'],
    ['Australia/Lord_Howe', '2026-01-15T12:00:00', '2026-01-15T01:00:00.000Z'],
    ['UTC', '2026-10-10T13:55:36', '2026-10-10T13:55:36.000Z'],
    ['Etc/UTC', '2026-10-10T13:55:36', '2026-10-10T13:55:36.000Z'],
  ])('in %s reads %s as %s', (zone, text, utc) => {
    expect(timestampToUtc(text, zone)).toBe(utc);
  });

  it('ignores the zone when the timestamp names its own offset', () => {
    expect(timestampToUtc('2026-10-10T13:55:36Z', 'Asia/Tokyo')).toBe('2026-10-10T13:55:36.000Z');
    expect(timestampToUtc('10/Oct/2026:13:55:36 +0000', 'America/New_York')).toBe('2026-10-10T13:55:36.000Z');
  });

  it('resolves every minute across a transition, not only the first one it saw', () => {
    const resolver = new ZoneResolver('America/New_York');
    const wall = (text: string) => Date.parse(`${text}Z`);
    expect(new Date(resolver.instantOf(wall('2026-11-01T00:59:00'))).toISOString()).toBe('2026-11-01T04:59:00.000Z');
    expect(new Date(resolver.instantOf(wall('2026-11-01T00:59:30.5'))).toISOString()).toBe('2026-11-01T04:59:30.500Z');
    expect(new Date(resolver.instantOf(wall('2026-11-01T02:00:00'))).toISOString()).toBe('2026-11-01T07:00:00.000Z');
    expect(new Date(resolver.instantOf(wall('2026-11-01T00:59:00'))).toISOString()).toBe('2026-11-01T04:59:00.000Z');
  });

  it('knows the zones of the runtime and no others', () => {
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(() => new ZoneResolver('Mars/Olympus_Mons')).toThrow(/unknown time zone/);
  });
});

describe('isoMilliseconds', () => {
  it('writes what Date#toISOString writes, across the years 0000 to 9999', () => {
    const start = new Date('0000-01-01T00:00:00.000Z').getTime();
    const end = new Date('9999-12-31T23:59:59.999Z').getTime();
    let state = 7;
    const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const instants = [start, end, 0, -1, 951_782_400_000, 4_107_542_400_000];
    for (let i = 0; i < 20_000; i++) instants.push(Math.floor(start + next() * (end - start)));
    const wrong = instants.filter((instant) => `${isoMilliseconds(instant)}Z` !== new Date(instant).toISOString());
    expect(wrong).toEqual([]);
  });

  it('gives up outside the years 0000 to 9999', () => {
    expect(isoMilliseconds(new Date('0000-01-01T00:00:00.000Z').getTime() - 1)).toBeUndefined();
    expect(isoMilliseconds(new Date('9999-12-31T23:59:59.999Z').getTime() + 1)).toBeUndefined();
  });
});
