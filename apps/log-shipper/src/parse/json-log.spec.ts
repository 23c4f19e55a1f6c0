import { parseJsonLine } from './json-log';

const line = (fields: Record<string, unknown>) => JSON.stringify(fields);
const base = {
  remote_addr: '2001:db8::1',
  time_iso8601: '2026-10-10T13:55:36+09:00',
  request_method: 'GET',
  request_uri: '/search?q=caf%C3%A9',
  status: '404',
  http_user_agent: 'Mozilla/5.0 "quoted"',
};

describe('parseJsonLine', () => {
  it('maps the nginx variables to the WebLog fields and extras, numbers where nginx writes digits', () => {
    const result = parseJsonLine(
      line({
        ...base,
        body_bytes_sent: '512',
        http_referer: 'https://ref.example/',
        server_protocol: 'HTTP/2.0',
        host: 'shop.example',
        request_time: '0.004',
      }),
    );
    expect(result).toEqual({
      ok: true,
      value: {
        ip: '2001:db8::1',
        timestamp: '2026-10-10T13:55:36+09:00',
        method: 'GET',
        url: '/search?q=caf%C3%A9',
        status_code: 404,
        user_agent: 'Mozilla/5.0 "quoted"',
        bytes: 512,
        referer: 'https://ref.example/',
        protocol: 'HTTP/2.0',
        host: 'shop.example',
        request_time: 0.004,
      },
    });
  });

  it('takes time_local, unquoted numbers, drops empty values, and reads $request when the method and uri are not logged', () => {
    const result = parseJsonLine(
      line({
        remote_addr: '10.0.0.1',
        time_local: '10/Oct/2026:13:55:36 +0000',
        request: 'DELETE /items/3 HTTP/1.1',
        status: 503,
        http_user_agent: '',
        http_referer: '',
      }),
    );
    expect(result).toEqual({
      ok: true,
      value: {
        ip: '10.0.0.1',
        timestamp: '10/Oct/2026:13:55:36 +0000',
        method: 'DELETE',
        url: '/items/3',
        status_code: 503,
        user_agent: '',
        protocol: 'HTTP/1.1',
      },
    });
  });

  it.each([
    ['nginx default escaping (\\xHH is not JSON)', '{"remote_addr":"10.0.0.1","http_user_agent":"\\x22bot\\x22"}', /escape=json/],
    ['a truncated line', '{"remote_addr":"10.0.0.1",', /not JSON/],
    ['an array', '[1,2]', /not a JSON object/],
    ['a missing remote_addr', line({ ...base, remote_addr: undefined }), /remote_addr/],
    ['a missing time', line({ ...base, time_iso8601: undefined }), /time_iso8601/],
    ['a missing request', line({ ...base, request_method: undefined }), /request/],
    ['a bad status', line({ ...base, status: 'ok' }), /status/],
    ['a nested extra', line({ ...base, geo: { country: 'FR' } }), /scalar/],
    [
      'a malformed $request',
      line({ remote_addr: '10.0.0.1', time_iso8601: base.time_iso8601, request: '\u0016\u0003', status: '400' }),
      /request line/,
    ],
  ])('refuses %s with a reason, without throwing', (_name, text, reason) => {
    const result = parseJsonLine(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
