/** A scalar an access log carries beside the six fields of the contract. */
export type ExtraValue = string | number | boolean | null;

/** One access-log line in the shape of a WebLog: the six required fields plus extras. */
export interface ParsedWebLog {
  readonly ip: string;
  readonly timestamp: string;
  readonly method: string;
  readonly url: string;
  readonly status_code: number;
  readonly user_agent: string;
  readonly [extra: string]: ExtraValue;
}

export type ParseResult = { readonly ok: true; readonly value: ParsedWebLog } | { readonly ok: false; readonly reason: string };

export function rejected(reason: string): ParseResult {
  return { ok: false, reason };
}

const method = /^[!#$%&'*+.^_`|~0-9A-Za-z]{1,32}$/;
const protocol = /^[A-Za-z][A-Za-z0-9.+-]*\/\d+(\.\d+)?$/;

export interface RequestLine {
  readonly method: string;
  readonly url: string;
  readonly protocol?: string;
}

/**
 * `METHOD TARGET PROTOCOL` (or `METHOD TARGET`, as HTTP/0.9 and some probes send). A request
 * line a server logged as it arrived (TLS bytes on a plain port, `-` for an empty request) is not
 * a web request and is refused with the reason.
 */
export function parseRequestLine(text: string): { ok: true; value: RequestLine } | { ok: false; reason: string } {
  const parts = text.split(' ');
  if (parts.length < 2 || parts.length > 3) return { ok: false, reason: `malformed request line ${JSON.stringify(text.slice(0, 120))}` };
  const [verb = '', target = '', version] = parts;
  if (!method.test(verb)) return { ok: false, reason: `request method ${JSON.stringify(verb.slice(0, 40))} is not an HTTP token` };
  if (target.length === 0) return { ok: false, reason: 'request line has an empty target' };
  if (version !== undefined && !protocol.test(version)) {
    return { ok: false, reason: `request protocol ${JSON.stringify(version.slice(0, 40))} is not NAME/VERSION` };
  }
  return { ok: true, value: { method: verb, url: target, ...(version === undefined ? {} : { protocol: version }) } };
}

export function statusCode(text: string): number | undefined {
  if (!/^\d{3}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 100 && value <= 599 ? value : undefined;
}
