import { aTransformedWebLog, aWebLog, badWebLogRecords, hostileWebLogs, realWorldWebLogs, webLogVariations } from '../../testing';
import { Contract } from './contract';
import { acceptsUpperCasedAscii, TransformedWebLogContract } from './transformed-web-log.contract';
import { isPrintable, WebLogContract } from './web-log.contract';

// The quick check stands in for the schema on the hot path, so it is held to the schema here:
// the same verdict on every case.

const quick = (contract: Contract<unknown>, value: unknown): boolean => {
  if (contract.quickAccept === undefined) throw new Error(`${contract.name} has no quick check`);
  return contract.quickAccept(value);
};
const schemaAccepts = (contract: Contract<unknown>, value: unknown): boolean => contract.schema.safeParse(value).success;

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
    const cases = webLogVariations(start, upper ? 2 : 1, 20_000, { upper });
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

describe('acceptsUpperCasedAscii', () => {
  // What is left to check of an all-ASCII record's upper-cased copy: what the transformer added.
  it('takes a transformed record and refuses one whose event_id or timestamp_utc is wrong or missing', () => {
    const log = aTransformedWebLog();
    expect(acceptsUpperCasedAscii(log)).toBe(true);
    const { event_id: _id, ...withoutId } = log;
    const { timestamp_utc: _utc, ...withoutUtc } = log;
    for (const wrong of [
      withoutId,
      withoutUtc,
      { ...log, event_id: log.event_id.toLowerCase() },
      { ...log, event_id: 'E'.repeat(129) },
      { ...log, event_id: 42 },
      { ...log, timestamp_utc: '2026-11-23T10:15:30Z' },
      { ...log, timestamp_utc: '2026-11-23T10:15:30.123+00:00' },
    ]) {
      expect([wrong, acceptsUpperCasedAscii(wrong)]).toEqual([wrong, false]);
    }
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
