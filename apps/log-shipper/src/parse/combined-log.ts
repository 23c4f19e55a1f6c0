import { parseRequestLine, ParseResult, ParsedWebLog, rejected, statusCode } from './parsed-line';

/**
 * nginx and Apache `combined` and `common`:
 *   `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
 * Quoted fields escape `"` and `\` with a backslash (Apache) or write bytes as `\xHH` (nginx's
 * default escaping, also for `"`). Anything after the last field a format defines is ignored, as
 * servers configured with a few fields more are common.
 */
const quoted = '"((?:[^"\\\\]|\\\\.)*)"';
const head = `^(\\S+) \\S+ \\S+ \\[([^\\]]+)\\] ${quoted} (\\S+) (\\S+)`;
const combinedLine = new RegExp(`${head} ${quoted} ${quoted}(?:\\s.*)?$`);
const commonLine = new RegExp(`${head}(?:\\s.*)?$`);
const accessLogTime = /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Undoes the servers' escaping: `\"`, `\\` and runs of `\xHH`, decoded as UTF-8 (nginx writes a
 * user agent's UTF-8 bytes that way). A run that is not UTF-8 stays as written, so nothing is lost.
 */
export function unescapeLogField(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/(?:\\x[0-9A-Fa-f]{2})+|\\(.)/g, (match: string, single: string | undefined) => {
    if (single !== undefined) return single === 'n' ? '\n' : single === 't' ? '\t' : single;
    const bytes = Uint8Array.from(match.split('\\x').slice(1), (hex) => parseInt(hex, 16));
    try {
      return utf8.decode(bytes);
    } catch {
      return match;
    }
  });
}

function bytesField(text: string): number | undefined {
  if (text === '-') return 0;
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

function parseAccessLine(line: string, pattern: RegExp, withAgent: boolean): ParseResult {
  const match = pattern.exec(line);
  if (!match) {
    return rejected(withAgent ? 'not a combined log line' : 'not a common log line');
  }
  const [, ip = '', time = '', request = '', status = '', sent = '', referer, agent] = match;
  if (!accessLogTime.test(time)) return rejected(`time ${JSON.stringify(time.slice(0, 40))} is not dd/Mon/yyyy:HH:MM:SS +zzzz`);
  const requestLine = parseRequestLine(unescapeLogField(request));
  if (!requestLine.ok) return requestLine;
  const code = statusCode(status);
  if (code === undefined) return rejected(`status ${JSON.stringify(status.slice(0, 20))} is not an HTTP status code`);
  const bytes = bytesField(sent);
  if (bytes === undefined) return rejected(`bytes sent ${JSON.stringify(sent.slice(0, 20))} is not a number`);
  const refererText = referer === undefined ? '-' : unescapeLogField(referer);
  const value: ParsedWebLog = {
    ip,
    timestamp: time,
    method: requestLine.value.method,
    url: requestLine.value.url,
    status_code: code,
    user_agent: agent === undefined ? '-' : unescapeLogField(agent),
    bytes,
    ...(refererText === '-' || refererText === '' ? {} : { referer: refererText }),
    ...(requestLine.value.protocol === undefined ? {} : { protocol: requestLine.value.protocol }),
  };
  return { ok: true, value };
}

export function parseCombinedLine(line: string): ParseResult {
  return parseAccessLine(line, combinedLine, true);
}

export function parseCommonLine(line: string): ParseResult {
  return parseAccessLine(line, commonLine, false);
}
