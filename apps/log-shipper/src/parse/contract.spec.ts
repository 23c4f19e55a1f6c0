import { conform, WebLogContract } from '@weblog/kafka-common';
import { parseCombinedLine, parseCommonLine } from './combined-log';
import { parseJsonLine } from './json-log';

const GOOD: readonly [string, (line: string) => ReturnType<typeof parseJsonLine>, string][] = [
  [
    'combined',
    parseCombinedLine,
    '203.0.113.9 - - [10/Oct/2026:13:55:36 +0900] "GET /p?q=1 HTTP/1.1" 200 5123 "https://r.example/" "Mozilla/5.0"',
  ],
  [
    'combined, IPv6 and PROPFIND',
    parseCombinedLine,
    '2001:db8::7 - u [01/Feb/2026:00:00:01 -0500] "PROPFIND /dav/ HTTP/1.1" 207 0 "-" "-"',
  ],
  [
    'combined, absolute URI',
    parseCombinedLine,
    '::1 - - [01/Feb/2026:00:00:01 +0000] "GET http://example.com/a HTTP/1.1" 502 1 "-" "curl/8"',
  ],
  ['combined, * and HTTP/2.0', parseCombinedLine, '10.0.0.1 - - [01/Feb/2026:00:00:01 +0000] "OPTIONS * HTTP/2.0" 204 0 "-" "probe"'],
  ['common', parseCommonLine, '192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'],
  [
    'json',
    parseJsonLine,
    '{"remote_addr":"2001:db8::1","time_iso8601":"2026-10-10T13:55:36+09:00","request_method":"PURGE","request_uri":"/c?x=%20","status":"404","http_user_agent":"","body_bytes_sent":"0","http_referer":"","server_protocol":"HTTP/1.1","host":"shop.example","request_time":"0.000"}',
  ],
  [
    'json, time_local',
    parseJsonLine,
    '{"remote_addr":"10.0.0.1","time_local":"10/Oct/2026:13:55:36 +0000","request":"GET / HTTP/1.1","status":200}',
  ],
];

describe('parsed lines against the WebLog contract', () => {
  it.each(GOOD)('a %s line becomes a record WebLogContract accepts', (_name, parse, line) => {
    const parsed = parse(line);
    if (!parsed.ok) throw new Error(parsed.reason);
    const checked = conform(WebLogContract, parsed.value);
    expect(checked).toEqual({ ok: true, value: parsed.value });
  });
});
