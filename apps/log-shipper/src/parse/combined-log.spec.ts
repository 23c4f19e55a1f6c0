import { parseCombinedLine, parseCommonLine, unescapeLogField } from './combined-log';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

describe('parseCombinedLine', () => {
  it('reads an nginx combined line into the six fields plus bytes, referer and protocol', () => {
    const line = `203.0.113.9 - - [10/Oct/2026:13:55:36 +0900] "GET /products/42?page=2&sort=asc HTTP/1.1" 200 5123 "https://shop.example/" "${UA}"`;
    expect(parseCombinedLine(line)).toEqual({
      ok: true,
      value: {
        ip: '203.0.113.9',
        timestamp: '10/Oct/2026:13:55:36 +0900',
        method: 'GET',
        url: '/products/42?page=2&sort=asc',
        status_code: 200,
        user_agent: UA,
        bytes: 5123,
        referer: 'https://shop.example/',
        protocol: 'HTTP/1.1',
      },
    });
  });

  it('reads IPv6 clients, a remote user, odd methods, absolute-URI and * targets, HTTP/2.0', () => {
    const value = (line: string) => {
      const result = parseCombinedLine(line);
      if (!result.ok) throw new Error(result.reason);
      return result.value;
    };
    expect(value('2001:db8::7 - alice [01/Feb/2026:00:00:01 -0500] "PROPFIND /dav/ HTTP/1.1" 207 0 "-" "-"')).toMatchObject({
      ip: '2001:db8::7',
      method: 'PROPFIND',
      url: '/dav/',
      user_agent: '-',
    });
    expect(
      value('::1 - - [01/Feb/2026:00:00:01 +0000] "GET http://example.com:8080/a?b=c HTTP/1.1" 502 157 "-" "curl/8.5.0"'),
    ).toMatchObject({
      url: 'http://example.com:8080/a?b=c',
      status_code: 502,
    });
    expect(value('10.0.0.1 - - [01/Feb/2026:00:00:01 +0000] "OPTIONS * HTTP/1.1" 204 0 "-" "probe"')).toMatchObject({ url: '*' });
    expect(value('10.0.0.1 - - [01/Feb/2026:00:00:01 +0000] "PRI * HTTP/2.0" 400 150 "-" "-"')).toMatchObject({ protocol: 'HTTP/2.0' });
    expect(value('10.0.0.1 - - [01/Feb/2026:00:00:01 +0000] "purge /cache/x HTTP/1.1" 200 3 "-" "-"')).toMatchObject({ method: 'purge' });
  });

  it('omits a missing referer, counts "-" bytes as 0 and keeps fields a server appends after the user agent out', () => {
    const result = parseCombinedLine('10.1.2.3 - - [01/Feb/2026:00:00:01 +0000] "HEAD / HTTP/1.0" 304 - "-" "Wget/1.21" "10.9.9.9" 0.004');
    expect(result).toEqual({
      ok: true,
      value: expect.objectContaining({ bytes: 0, user_agent: 'Wget/1.21', method: 'HEAD' }) as unknown,
    });
    expect(result.ok && 'referer' in result.value).toBe(false);
  });

  it('undoes Apache backslash escapes and nginx \\xHH escapes (UTF-8 bytes become text)', () => {
    const line =
      '10.0.0.2 - - [01/Feb/2026:00:00:01 +0000] "GET /q?x=\\"1\\" HTTP/1.1" 200 1 "-" "bot \\"quoted\\" \\\\ back \\xE2\\x80\\x94 dash \\x22"';
    expect(parseCombinedLine(line)).toMatchObject({
      ok: true,
      value: { url: '/q?x="1"', user_agent: 'bot "quoted" \\ back \u2014 dash "' },
    });
    expect(unescapeLogField('\\xFF\\xFE')).toBe('\\xFF\\xFE');
  });

  it.each([
    [
      'a malformed request line (TLS bytes on a plain port)',
      '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "\\x16\\x03\\x01\\x00" 400 150 "-" "-"',
      /request line|method/,
    ],
    ['an empty request', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "-" 400 0 "-" "-"', /request line/],
    ['a request line with too many parts', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "GET /a b HTTP/1.1" 400 0 "-" "-"', /request line/],
    ['a bad protocol', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "GET / HTTP" 400 0 "-" "-"', /protocol/],
    ['a status out of range', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "GET / HTTP/1.1" 700 0 "-" "-"', /status/],
    ['a bad time', '10.0.0.3 - - [2026-02-01 00:00:01] "GET / HTTP/1.1" 200 0 "-" "-"', /time/],
    ['a common line where combined is expected', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 0', /combined/],
    ['an unterminated quote', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "GET / HTTP/1.1 200 0 "-" "-', /combined/],
    ['bytes that are not a number', '10.0.0.3 - - [01/Feb/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 12k "-" "-"', /bytes/],
    ['an empty line', '', /combined/],
  ])('refuses %s with a reason, without throwing', (_name, line, reason) => {
    const result = parseCombinedLine(line);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('parseCommonLine', () => {
  it('reads a common line: no referer, user agent "-"', () => {
    expect(parseCommonLine('192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326')).toEqual({
      ok: true,
      value: {
        ip: '192.0.2.1',
        timestamp: '10/Oct/2000:13:55:36 -0700',
        method: 'GET',
        url: '/apache_pb.gif',
        status_code: 200,
        user_agent: '-',
        bytes: 2326,
        protocol: 'HTTP/1.0',
      },
    });
  });

  it('reads a combined line as common too (the extra quoted fields are ignored)', () => {
    const result = parseCommonLine('192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "curl/8"');
    expect(result).toMatchObject({ ok: true, value: { user_agent: '-' } });
  });

  it('refuses a line that is not common', () => {
    expect(parseCommonLine('hello world')).toEqual({ ok: false, reason: 'not a common log line' });
  });
});
