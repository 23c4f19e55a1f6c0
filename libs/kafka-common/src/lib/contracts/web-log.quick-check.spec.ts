import { aTransformedWebLog, aWebLog, badWebLogRecords, hostileWebLogs, realWorldWebLogs, seededRandom } from '../../testing';
import { Contract } from './contract';
import { TransformedWebLogContract } from './transformed-web-log.contract';
import { isPrintable, WebLogContract } from './web-log.contract';

// The quick check stands in for the schema on the hot path, so it is held to the schema here:
// the same verdict on every case.

const quick = (contract: Contract<unknown>, value: unknown): boolean => {
  if (contract.quickAccept === undefined) throw new Error(`${contract.name} has no quick check`);
  return contract.quickAccept(value);
};
const schemaAccepts = (contract: Contract<unknown>, value: unknown): boolean => contract.schema.safeParse(value).success;

const STRINGS = [
  '',
  'a',
  '-',
  'GET',
  'get',
  'GET /',
  'GET(1)',
  'M-SEARCH',
  '/',
  '/a?b=c',
  '*',
  '**',
  'index.html',
  'http://shop.example/',
  'HTTP://SHOP.EXAMPLE/',
  'ß',
  'straße',
  'ﬀ',
  '\u0000',
  'a\u0085b',
  '\u001b[31m',
  'a\u007fb',
  'tab\there',
  '\u202e\u200b',
  '🤖 𝔘𝔫𝔦',
  'X'.repeat(32),
  'X'.repeat(33),
  'E'.repeat(128),
  'E'.repeat(129),
  'A'.repeat(4096),
  'A'.repeat(4097),
  `/${'a'.repeat(8191)}`,
  `/${'a'.repeat(8192)}`,
  '2026-11-23T10:15:30Z',
  '2026-11-23T10:15:30.123456',
  '2026-11-23 10:15:30.5',
  '2026-11-23t10:15:30z',
  '2026-02-30T10:00:00Z',
  '2026-11-23T24:00:00Z',
  '2026-11-23T10:15:30+19:00',
  '2026-11-23T10:15:30.1234567Z',
  '10/Oct/2026:13:55:36 +0900',
  '10/OCT/2026:13:55:36 +0900',
  '31/Feb/2026:13:55:36 +0900',
  '2026-11-23T10:15:30.123Z',
  '2026-11-23T10:15:30.123456Z',
  '192.168.1.1',
  '0.0.0.0',
  '255.255.255.255',
  '256.1.1.1',
  '01.1.1.1',
  '1.1.1',
  '2001:db8::1',
  '::1',
  '::ffff:203.0.113.7',
  '::1\n',
  '::',
  'fe80::1%eth0',
  '2001:DB8:0:0:8:800:200C:417A',
  '1:2:3:4:5:6:7:8:9',
  '::ffff:999.1.1.1',
  '1::2::3',
  '[::1]',
  '::1@x',
  '3B241101-E2BB-4255-8CAF-4136C566A962',
];
const OTHERS: unknown[] = [0, 99, 100, 200, 599, 600, -200, 200.5, 1e21, Infinity, Number.NaN, true, false, null, {}, [], { a: 1 }, ['x']];
const VALUES: unknown[] = [...STRINGS, ...OTHERS];
const NAMES = [
  'ip',
  'timestamp',
  'method',
  'url',
  'status_code',
  'user_agent',
  'event_id',
  'timestamp_utc',
  'bytes',
  'referer',
  '_x',
  'a.b',
  'a-b',
  '1abc',
  '.a',
  'with space',
  'x'.repeat(64),
  'x'.repeat(65),
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];

/** An object made as JSON.parse makes it: a `__proto__` key becomes an own field, as it does from the wire. */
function fromEntries(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [name, value] of entries) Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

function variations(start: Record<string, unknown>, seed: number, count: number, upper: boolean): Record<string, unknown>[] {
  const next = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const shape = (value: unknown): unknown => (upper && typeof value === 'string' && next() < 0.8 ? value.toUpperCase() : value);
  const cases: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const entries = new Map(Object.entries(start));
    const edits = 1 + Math.floor(next() * 3);
    for (let e = 0; e < edits; e++) {
      const roll = next();
      if (roll < 0.15) entries.delete(pick([...entries.keys()]));
      else if (roll < 0.2) for (let x = 0; x < 28 + Math.floor(next() * 8); x++) entries.set(`f${x}`, x);
      else entries.set(pick(NAMES), shape(pick(VALUES)));
    }
    cases.push(fromEntries([...entries]));
  }
  return cases;
}

const parsedBadRecords = (): unknown[] =>
  badWebLogRecords().flatMap((bad) => {
    try {
      return bad.value === null ? [] : [JSON.parse(bad.value.toString('utf8')) as unknown];
    } catch {
      return [];
    }
  });

describe.each([
  { contract: WebLogContract, start: aWebLog(), upper: false },
  { contract: TransformedWebLogContract, start: aTransformedWebLog(), upper: true },
])('the quick check of $contract.name', ({ contract, start, upper }) => {
  it('refuses what the schema refuses among the bad records', () => {
    const wrong = parsedBadRecords().filter((value) => quick(contract, value) !== schemaAccepts(contract, value));
    expect(wrong).toEqual([]);
  });

  it('agrees with the schema on 20,000 seeded variations', () => {
    const cases = variations(start, upper ? 2 : 1, 20_000, upper);
    const disagreements = cases
      .map((value) => ({ value, quick: quick(contract, value), schema: schemaAccepts(contract, value) }))
      .filter((c) => c.quick !== c.schema);
    expect(disagreements.slice(0, 5)).toEqual([]);
    // Both verdicts occur often enough for the comparison to mean something.
    const accepted = cases.filter((value) => quick(contract, value)).length;
    expect(accepted).toBeGreaterThan(1_000);
    expect(cases.length - accepted).toBeGreaterThan(1_000);
  });
});

describe('the quick check on records producers write', () => {
  it.each(realWorldWebLogs().map((r) => [r.name, r.value] as const))('takes %s without the schema', (_name, log) => {
    expect(quick(WebLogContract, log)).toBe(true);
  });

  it.each(hostileWebLogs().map((h) => [h.name, h.value] as const))('takes %s without the schema', (_name, log) => {
    expect(quick(WebLogContract, log)).toBe(true);
  });

  it('takes a transformed record, and refuses one with a lower-case value or no timestamp_utc', () => {
    const log = aTransformedWebLog();
    expect(quick(TransformedWebLogContract, log)).toBe(true);
    expect(quick(TransformedWebLogContract, { ...log, referer: 'lower' })).toBe(false);
    const { timestamp_utc: _utc, ...withoutUtc } = log;
    expect(quick(TransformedWebLogContract, withoutUtc)).toBe(false);
  });
});

describe('isPrintable', () => {
  it("refuses exactly Unicode's control characters, across every UTF-16 code unit and beyond", () => {
    const control = /^[^\p{Cc}]*$/u;
    const texts = Array.from({ length: 0x10000 }, (_, unit) => `a${String.fromCharCode(unit)}b`);
    texts.push('', '🤖 𝔘𝔫𝔦', '\ud800', '\udc00x', 'tab\there');
    const wrong = texts.filter((text) => isPrintable(text) !== control.test(text)).map((text) => text.codePointAt(1));
    expect(wrong).toEqual([]);
    expect(texts.filter((text) => !isPrintable(text)).length).toBe(65 + 1);
  });
});
