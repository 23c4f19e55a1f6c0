import { ExtraValue, parseRequestLine, ParseResult, rejected, statusCode } from './parsed-line';

/** nginx variable names (escape=json) and the WebLog field each becomes. */
const RENAMED: Readonly<Record<string, string>> = {
  body_bytes_sent: 'bytes',
  http_referer: 'referer',
  server_protocol: 'protocol',
};
const REQUIRED_SOURCES = new Set([
  'remote_addr',
  'time_iso8601',
  'time_local',
  'request_method',
  'request_uri',
  'request',
  'status',
  'http_user_agent',
]);
const NUMERIC = new Set(['body_bytes_sent', 'bytes_sent', 'request_time', 'request_length', 'upstream_response_time']);
const extraName = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

function text(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function extraValue(name: string, value: unknown): ExtraValue | undefined {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  // nginx writes numbers as digits inside the quotes a log_format puts around every variable.
  if (NUMERIC.has(name) && /^\d{1,15}(\.\d{1,9})?$/.test(value)) return Number(value);
  return value;
}

/**
 * One JSON object per line, as nginx writes with `log_format ... escape=json`. nginx's default
 * escaping writes bytes as `\xHH`, which JSON does not have: such a line is refused with a reason
 * that says so rather than guessed at.
 */
export function parseJsonLine(line: string): ParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    const hint = /\\x[0-9A-Fa-f]{2}/.test(line) ? ' (\\xHH escapes: set escape=json on the log_format)' : '';
    return rejected(`not JSON${hint}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return rejected('not a JSON object');
  const record = parsed as Record<string, unknown>;
  const ip = text(record, 'remote_addr');
  if (ip === undefined || ip === '') return rejected('remote_addr is missing');
  const timestamp = text(record, 'time_iso8601') ?? text(record, 'time_local');
  if (timestamp === undefined || timestamp === '') return rejected('time_iso8601 (or time_local) is missing');
  let method = text(record, 'request_method');
  let url = text(record, 'request_uri');
  let protocol = text(record, 'server_protocol');
  if (method === undefined || url === undefined) {
    const request = text(record, 'request');
    if (request === undefined) return rejected('request_method and request_uri (or request) are missing');
    const requestLine = parseRequestLine(request);
    if (!requestLine.ok) return requestLine;
    ({ method, url } = requestLine.value);
    protocol ??= requestLine.value.protocol;
  }
  const status = statusCode(text(record, 'status') ?? '');
  if (status === undefined) return rejected(`status ${JSON.stringify(record['status'] ?? null)} is not an HTTP status code`);
  const extras: Record<string, ExtraValue> = {};
  for (const [name, value] of Object.entries(record)) {
    if (REQUIRED_SOURCES.has(name) || name === 'server_protocol') continue;
    const target = RENAMED[name] ?? name;
    const converted = extraValue(name, value);
    if (converted === undefined || !extraName.test(target))
      return rejected(`field ${JSON.stringify(name.slice(0, 64))} is not a scalar extra`);
    // An empty string is how escape=json writes a variable nginx had no value for.
    if (converted === '' || converted === '-') continue;
    extras[target] = converted;
  }
  return {
    ok: true,
    value: {
      ...extras,
      ...(protocol === undefined || protocol === '' ? {} : { protocol }),
      ip,
      timestamp,
      method,
      url,
      status_code: status,
      user_agent: text(record, 'http_user_agent') ?? '-',
    },
  };
}
