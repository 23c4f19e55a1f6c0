import { parsePathFormat, TimePartitioner } from './time-partitioner';

const hourly = { pathFormat: "'dt'=YYYY-MM-dd/'hour'=HH", durationMs: 3600000, timeZone: 'UTC', locale: 'en' };
const at = (iso: string) => Date.parse(iso);

describe('TimePartitioner', () => {
  it("writes the hour of the record in the default 'dt'=YYYY-MM-dd/'hour'=HH format", () => {
    const partitioner = new TimePartitioner(hourly);
    expect(partitioner.path(at('2026-11-23T07:59:59.999Z'))).toBe('dt=2026-11-23/hour=07');
    expect(partitioner.path(at('2026-11-23T08:00:00.000Z'))).toBe('dt=2026-11-23/hour=08');
    expect(partitioner.path(at('2026-12-31T23:30:00.000Z'))).toBe('dt=2026-12-31/hour=23');
  });

  it('floors to the partition duration in local time of the zone, as Connect does', () => {
    const paris = new TimePartitioner({ ...hourly, pathFormat: "'day'=YYYY-MM-dd", durationMs: 86400000, timeZone: 'Europe/Paris' });
    // 23:30 UTC on 23 November is 00:30 on the 24th in Paris.
    expect(paris.path(at('2026-11-23T23:30:00Z'))).toBe('day=2026-11-24');
    expect(paris.path(at('2026-11-23T22:59:59Z'))).toBe('day=2026-11-23');
    const quarter = new TimePartitioner({ ...hourly, pathFormat: 'HH-mm', durationMs: 15 * 60000 });
    expect(quarter.path(at('2026-11-23T10:44:59Z'))).toBe('10-30');
  });

  it('writes month and day names in the locale', () => {
    const french = new TimePartitioner({ ...hourly, pathFormat: "MMMM'-'EEEE", locale: 'fr_FR' });
    expect(french.path(at('2026-11-23T10:00:00Z'))).toBe('novembre-lundi');
  });

  it("reads quotes as Joda does ('' is a quote) and refuses letters it cannot write", () => {
    expect(new TimePartitioner({ ...hourly, pathFormat: "'it''s'/YYYY" }).path(at('2026-01-01T00:00:00Z'))).toBe("it's/2026");
    expect(() => parsePathFormat("'dt'=YYYY-ww")).toThrow(/pattern letter w/);
    expect(() => parsePathFormat("'dt")).toThrow(/unterminated quote/);
    expect(() => new TimePartitioner({ ...hourly, timeZone: 'Mars/Olympus' })).toThrow();
  });
});
