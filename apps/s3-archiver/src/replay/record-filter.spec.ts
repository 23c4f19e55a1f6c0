import { aTransformedWebLog } from '@weblog/kafka-common/testing';
import { combineFilters, parseFilter } from './record-filter';

describe('parseFilter', () => {
  it.each([
    ['status_code>=500', { status_code: 503 }, true],
    ['status_code>=500', { status_code: 404 }, false],
    ['status_code=200', { status_code: 200 }, true],
    ['status_code!=200', { status_code: 200 }, false],
    ['status_code<300', { status_code: 204 }, true],
    ['method=post', { method: 'POST' as const }, true],
    ['method=POST', { method: 'GET' as const }, false],
    ['url~/checkout', { url: '/CHECKOUT?STEP=2' }, true],
    ['url~/cart', { url: '/CHECKOUT' }, false],
    ['ip = 10.0.0.1', { ip: '10.0.0.1' }, true],
  ])('%s on %j is %s', (expression, fields, expected) => {
    expect(parseFilter(expression)(aTransformedWebLog(fields))).toBe(expected);
  });

  it.each(['status>=500', 'status_code>=abc', 'status_code~5', 'nonsense', 'url'])('refuses %s with a readable message', (expression) => {
    expect(() => parseFilter(expression)).toThrow(/filter/);
  });
});

describe('combineFilters', () => {
  it('keeps records inside [from, to) that pass every filter', () => {
    const keep = combineFilters([parseFilter('status_code>=500')], new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z'));
    expect(
      keep(aTransformedWebLog({ status_code: 500, timestamp: '2026-01-01T10:00:00.000Z', timestamp_utc: '2026-01-01T10:00:00.000Z' })),
    ).toBe(true);
    expect(
      keep(aTransformedWebLog({ status_code: 500, timestamp: '2026-01-02T00:00:00.000Z', timestamp_utc: '2026-01-02T00:00:00.000Z' })),
    ).toBe(false);
    expect(
      keep(aTransformedWebLog({ status_code: 200, timestamp: '2026-01-01T10:00:00.000Z', timestamp_utc: '2026-01-01T10:00:00.000Z' })),
    ).toBe(false);
    // The window is on the instant, whatever form the record's own timestamp took.
    expect(
      keep(aTransformedWebLog({ status_code: 500, timestamp: '02/JAN/2026:08:00:00 +0900', timestamp_utc: '2026-01-01T23:00:00.123456Z' })),
    ).toBe(true);
    expect(
      keep(aTransformedWebLog({ status_code: 500, timestamp: '2026-01-01T08:00:00', timestamp_utc: '2026-01-02T00:00:00.000000Z' })),
    ).toBe(false);
  });
});
