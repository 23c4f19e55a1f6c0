import { aTransformedWebLog, aWebLog, badWebLogRecords, hostileWebLogs, realWorldWebLogs } from '../../testing';
import { acceptsUpperCasedAscii, TransformedWebLogContract } from '../contracts/transformed-web-log.contract';
import { WebLogContract } from '../contracts/web-log.contract';
import { conform, decode, DecodeFailure, encode, isAsciiJson } from './codec';

describe('decode', () => {
  it('accepts a valid WebLog and returns it typed', () => {
    const log = aWebLog();
    const result = decode(WebLogContract, Buffer.from(JSON.stringify(log)));
    expect(result).toEqual({ ok: true, value: log });
  });

  it('accepts IPv6 addresses and timestamps without milliseconds', () => {
    const log = aWebLog({ ip: '2001:db8::1', timestamp: '2026-11-23T10:15:30Z' });
    expect(decode(WebLogContract, Buffer.from(JSON.stringify(log))).ok).toBe(true);
  });

  it.each(badWebLogRecords().map((bad) => [bad.name, bad] as const))('rejects %s with its reason, without throwing', (_name, bad) => {
    const result = decode(WebLogContract, bad.value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(bad.reason);
      expect(result.detail.length).toBeGreaterThan(0);
    }
  });

  it.each(realWorldWebLogs().map((r) => [r.name, r.value] as const))('accepts a real-world record: %s', (_name, log) => {
    expect(decode(WebLogContract, Buffer.from(JSON.stringify(log)))).toEqual({ ok: true, value: log });
  });

  it('keeps a __proto__ key from JSON out of an accepted record: it is refused, not dropped', () => {
    const text = JSON.stringify(aWebLog()).replace('{', '{"__proto__":"x",');
    const result = decode(WebLogContract, Buffer.from(text));
    expect(result).toMatchObject({ ok: false, reason: DecodeFailure.contractViolation });
    if (!result.ok) expect(result.detail).toContain('__proto__ is a reserved name');
  });

  it.each(hostileWebLogs().map((h) => [h.name, h.value] as const))('carries %s as data', (_name, log) => {
    expect(decode(WebLogContract, Buffer.from(JSON.stringify(log)))).toEqual({ ok: true, value: log });
  });

  it('rejects values above the byte limit before parsing them', () => {
    const result = decode(WebLogContract, Buffer.alloc(2048, 0x20), { maxBytes: 1024 });
    expect(result).toMatchObject({ ok: false, reason: DecodeFailure.oversize });
  });

  it('names the offending field in a contract violation', () => {
    const result = decode(WebLogContract, Buffer.from(JSON.stringify({ ...aWebLog(), status_code: 'x' })));
    expect(result).toMatchObject({ ok: false, reason: DecodeFailure.contractViolation });
    if (!result.ok) expect(result.detail).toContain('status_code');
  });

  it('finds duplicate keys even when a value contains the key separator', () => {
    const text = JSON.stringify(aWebLog({ url: '/search?q=%22a%22:1' })).replace('{', '{"ip":"10.0.0.1",');
    expect(decode(WebLogContract, Buffer.from(text))).toMatchObject({ ok: false, reason: DecodeFailure.duplicateKey });
  });

  it('finds a duplicate key whatever JSON whitespace comes before its colon, and takes pretty-printed JSON', () => {
    const log = aWebLog();
    for (const space of [' ', '\t', '\n', '\r\n', ' \n\t ']) {
      const text = JSON.stringify(log).replace('"url":', `"url"${space}:`);
      const result = decode(WebLogContract, Buffer.from(`${text.slice(0, -1)},"url"${space}:"/other"}`));
      expect([JSON.stringify(space), result.ok ? 'accepted' : result.reason]).toEqual([JSON.stringify(space), DecodeFailure.duplicateKey]);
    }
    expect(decode(WebLogContract, Buffer.from(JSON.stringify(log, null, 2).replace(/":/g, '" :')))).toEqual({ ok: true, value: log });
  });

  it('does not mistake a separator inside a value for a duplicate key', () => {
    const log = aWebLog({ url: '/a?x="b":c', user_agent: 'agent "ip": 1' });
    expect(decode(WebLogContract, Buffer.from(JSON.stringify(log))).ok).toBe(true);
  });

  it('refuses a TransformedWebLog without event_id or timestamp_utc, or with a lower-case extra', () => {
    const { event_id: _id, ...noId } = aTransformedWebLog();
    const { timestamp_utc: _utc, ...noUtc } = aTransformedWebLog();
    for (const value of [
      noId,
      noUtc,
      aTransformedWebLog({ timestamp_utc: '2026-11-23T10:15:30Z' }),
      { ...aTransformedWebLog(), referer: 'lower' },
    ]) {
      expect(decode(TransformedWebLogContract, Buffer.from(JSON.stringify(value)))).toMatchObject({
        ok: false,
        reason: DecodeFailure.contractViolation,
      });
    }
    expect(decode(TransformedWebLogContract, Buffer.from(JSON.stringify({ ...aTransformedWebLog(), referer: 'UPPER', bytes: 3 }))).ok).toBe(
      true,
    );
  });

  it('accepts an upper-cased record as TransformedWebLog and refuses a lower-case one', () => {
    expect(decode(TransformedWebLogContract, Buffer.from(JSON.stringify(aTransformedWebLog()))).ok).toBe(true);
    const lower = decode(TransformedWebLogContract, Buffer.from(JSON.stringify(aTransformedWebLog({ url: '/lower' }))));
    expect(lower).toMatchObject({ ok: false, reason: DecodeFailure.contractViolation });
    if (!lower.ok) expect(lower.detail).toContain('url must be upper-case');
  });
});

describe('encode', () => {
  it('round-trips through decode', () => {
    const log = aWebLog();
    expect(decode(WebLogContract, encode(WebLogContract, log))).toEqual({ ok: true, value: log });
  });

  it('refuses to serialise a value that breaks the contract', () => {
    expect(() => encode(WebLogContract, { ...aWebLog(), status_code: 42 })).toThrow(/violates WebLog/);
  });
});

describe('conform', () => {
  it('says why a value breaks the contract', () => {
    const result = conform(TransformedWebLogContract, { ...aWebLog(), timestamp_utc: '2026-11-23T10:15:30.123Z' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toContain('must be upper-case');
  });

  it('hands encode a value it does not check again, for that contract only', () => {
    const conformed = conform(WebLogContract, aWebLog());
    if (!conformed.ok) throw new Error('a valid web log did not conform');
    const quickCheck = jest.spyOn(WebLogContract as { quickAccept: (value: unknown) => boolean }, 'quickAccept');
    const schemaCheck = jest.spyOn(WebLogContract.schema, 'safeParse');
    const checks = () => quickCheck.mock.calls.length + schemaCheck.mock.calls.length;
    let bytes: Buffer;
    try {
      bytes = encode(WebLogContract, conformed.value);
      expect(checks()).toBe(0);
      encode(WebLogContract, { ...conformed.value });
      expect(checks()).toBe(1);
    } finally {
      quickCheck.mockRestore();
      schemaCheck.mockRestore();
    }
    expect(decode(WebLogContract, bytes)).toEqual({ ok: true, value: conformed.value });
    // Conforming to one contract vouches for nothing else: a lower-case log is no TransformedWebLog.
    expect(() => encode(TransformedWebLogContract, conformed.value as never)).toThrow(/violates TransformedWebLog/);
  });

  it('vouches for no copy: a spread or an assigned copy that was changed is refused, and the bytes carry no mark', () => {
    const log = aWebLog();
    const plain = { ...log };
    const conformed = conform(WebLogContract, log);
    if (!conformed.ok) throw new Error('a valid web log did not conform');
    expect(() => encode(WebLogContract, { ...conformed.value, status_code: 42 })).toThrow(/violates WebLog/);
    expect(() => encode(WebLogContract, Object.assign({}, conformed.value, { status_code: 42 }))).toThrow(/violates WebLog/);
    expect(Object.keys(conformed.value)).toEqual(Object.keys(plain));
    expect(encode(WebLogContract, conformed.value).toString('utf8')).toBe(JSON.stringify(plain));
  });

  it("takes a caller's quick check in place of the contract's, and the schema's verdict when it says no", () => {
    const upper = aTransformedWebLog();
    const contractsOwn = jest.spyOn(TransformedWebLogContract as { quickAccept: (value: unknown) => boolean }, 'quickAccept');
    try {
      const callers = jest.fn(acceptsUpperCasedAscii);
      expect(conform(TransformedWebLogContract, upper, callers).ok).toBe(true);
      expect(callers).toHaveBeenCalledWith(upper);
      expect(contractsOwn).not.toHaveBeenCalled();
      const refused = conform(TransformedWebLogContract, { ...upper, timestamp_utc: 'soon' }, acceptsUpperCasedAscii);
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.detail).toContain('timestamp_utc');
    } finally {
      contractsOwn.mockRestore();
    }
  });

  it('checks a frozen value again when it is encoded', () => {
    const frozen = Object.freeze(aWebLog());
    const conformed = conform(WebLogContract, frozen);
    expect(conformed.ok).toBe(true);
    const quickCheck = jest.spyOn(WebLogContract as { quickAccept: (value: unknown) => boolean }, 'quickAccept');
    try {
      encode(WebLogContract, frozen);
      expect(quickCheck).toHaveBeenCalledTimes(1);
    } finally {
      quickCheck.mockRestore();
    }
  });
});

describe('isAsciiJson', () => {
  it.each([
    ['ASCII with escapes that stay ASCII', '{"ua":"a \\"quoted\\" \\/ path\\n"}', true],
    ['a character beyond ASCII', '{"ua":"straße"}', false],
    ['a \\u escape of one', '{"ua":"stra\\u00dfe"}', false],
    ['a \\u escape of an ASCII letter', '{"ua":"\\u0041"}', false],
    ['an escaped backslash before a u', '{"ua":"C:\\\\users"}', false],
    ['a DEL byte', '{"ua":"\u007f"}', true],
  ])('%s: %s', (_name, text, expected) => {
    expect(isAsciiJson(Buffer.from(text, 'utf8'))).toBe(expected);
    expect(isAsciiJson(new Uint8Array(Buffer.from(`  ${text}`, 'utf8')).subarray(2))).toBe(expected);
  });
});
