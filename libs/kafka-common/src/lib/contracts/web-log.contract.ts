import { z } from 'zod';
import { defineContract } from './contract';
import { isWebLogTimestamp, TIMESTAMP_MAX_LENGTH } from './timestamp';

/** The methods our generator draws from; the contract takes any HTTP method token. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Field bounds, shared with the generator and the bad-input fixtures. */
export const WEB_LOG_LIMITS = {
  urlMaxLength: 8192,
  userAgentMaxLength: 4096,
  methodMaxLength: 32,
  eventIdMaxLength: 128,
  statusCodeMin: 100,
  statusCodeMax: 599,
  extraFieldsMax: 32,
  extraNameMaxLength: 64,
  extraStringMaxLength: 4096,
} as const;

/** Fields the pipeline adds to a record: an input record may not carry them as extras. */
export const PIPELINE_FIELDS = ['timestamp_utc'] as const;

/** Unicode's control characters (Cc): U+0000-U+001F and U+007F-U+009F. */
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Printable text only: control characters in a log line are how log-injection starts. Searching
 * for one takes under half the time of a `charCodeAt` loop over a web log's URL and user agent.
 */
export function isPrintable(text: string): boolean {
  return !CONTROL_CHARACTER.test(text);
}
// RFC 9110 token characters.
const methodToken = /^[!#$%&'*+.^_`|~0-9A-Za-z]+$/;
// A path, `*` (OPTIONS * HTTP/1.1), or an absolute URI: an RFC 3986 scheme and a colon.
const requestTarget = /^(?:\/|\*$|[A-Za-z][A-Za-z0-9+.-]*:)/;
const extraName = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// Names a plain object must not be given: JSON.parse makes `__proto__` an own key, which zod drops silently.
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype', ...PIPELINE_FIELDS]);

const text = (field: string, min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine(isPrintable, { message: `${field} must not contain control characters` });

const fields = {
  ip: z.union([z.ipv4(), z.ipv6()]),
  timestamp: z.string().max(TIMESTAMP_MAX_LENGTH).refine(isWebLogTimestamp, {
    message:
      'timestamp must be a real ISO 8601 time (Z, +HH:MM, +HHMM or no zone; up to 6 fractional digits) or 10/Oct/2026:13:55:36 +0900',
  }),
  method: z.string().min(1).max(WEB_LOG_LIMITS.methodMaxLength).regex(methodToken, { message: 'method must be an HTTP method token' }),
  url: text('url', 1, WEB_LOG_LIMITS.urlMaxLength).regex(requestTarget, {
    message: 'url must be a path starting with /, an absolute URI (scheme:) or *',
  }),
  status_code: z.int().min(WEB_LOG_LIMITS.statusCodeMin).max(WEB_LOG_LIMITS.statusCodeMax),
  user_agent: text('user_agent', 0, WEB_LOG_LIMITS.userAgentMaxLength),
};

const eventId = text('event_id', 1, WEB_LOG_LIMITS.eventIdMaxLength);

/** A field's check without zod's per-check bookkeeping (see `quickWebLogCheck`). */
export type QuickCheck = (value: unknown) => boolean;

const quickText =
  (min: number, max: number): QuickCheck =>
  (value) =>
    typeof value === 'string' && value.length >= min && value.length <= max && isPrintable(value);

const quickUrlText = quickText(1, WEB_LOG_LIMITS.urlMaxLength);

/** The same rules as `fields`, with the same patterns, bounds and zod's own IPv6 test, for the quick path. */
const quickFields: { readonly [F in keyof typeof fields]: QuickCheck } = {
  ip: (value) => typeof value === 'string' && (z.regexes.ipv4.test(value) || z.core.isValidIPv6(value)),
  timestamp: (value) => typeof value === 'string' && isWebLogTimestamp(value),
  method: (value) =>
    typeof value === 'string' && value.length >= 1 && value.length <= WEB_LOG_LIMITS.methodMaxLength && methodToken.test(value),
  url: (value) => quickUrlText(value) && requestTarget.test(value as string),
  status_code: (value) =>
    Number.isInteger(value) && (value as number) >= WEB_LOG_LIMITS.statusCodeMin && (value as number) <= WEB_LOG_LIMITS.statusCodeMax,
  user_agent: quickText(0, WEB_LOG_LIMITS.userAgentMaxLength),
};
const quickEventId = quickText(1, WEB_LOG_LIMITS.eventIdMaxLength);
const quickExtraString = quickText(0, WEB_LOG_LIMITS.extraStringMaxLength);
const quickExtraValue: QuickCheck = (value) =>
  value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) || quickExtraString(value);

/** What an extra field (bytes, referer, host, ...) may hold: flat values only. */
const extraValue = z.union([text('extra field', 0, WEB_LOG_LIMITS.extraStringMaxLength), z.number(), z.boolean(), z.null()]);
export type ExtraValue = z.infer<typeof extraValue>;

/**
 * Checks the names of the fields beyond `known` on the raw input, before zod copies the object
 * (and loses `__proto__` on the way): their number, their form, and the names that are reserved.
 */
function extraFieldNames(known: ReadonlySet<string>) {
  return z.unknown().check((ctx) => {
    const input = ctx.value;
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return;
    let extras = 0;
    for (const name of Object.keys(input)) {
      if (known.has(name)) continue;
      extras++;
      if (FORBIDDEN_NAMES.has(name)) {
        ctx.issues.push({ code: 'custom', path: [name], message: `${name} is a reserved name`, input: name });
      } else if (name.length > WEB_LOG_LIMITS.extraNameMaxLength || !extraName.test(name)) {
        ctx.issues.push({
          code: 'custom',
          path: [name],
          message: `extra field names are letters, digits, _ . - (not first: digit . -), up to ${WEB_LOG_LIMITS.extraNameMaxLength}`,
          input: name,
        });
      }
      if (ctx.issues.length > 0) return;
    }
    if (extras > WEB_LOG_LIMITS.extraFieldsMax) {
      ctx.issues.push({
        code: 'custom',
        path: [],
        message: `${extras} extra fields, at most ${WEB_LOG_LIMITS.extraFieldsMax} are kept`,
        input,
      });
    }
  });
}

/** An object of `shape` plus bounded flat extra fields. */
export function webLogObject<S extends z.ZodRawShape>(shape: S) {
  return extraFieldNames(new Set(Object.keys(shape))).pipe(z.object(shape).catchall(extraValue));
}

/** The fields both contracts share, for the output contract to build on. */
export const webLogShape = { ...fields, event_id: eventId.optional() };
export const transformedWebLogShape = { ...fields, event_id: eventId };
export const quickWebLogFields: Readonly<Record<string, QuickCheck>> = { ...quickFields, event_id: quickEventId };

export interface QuickWebLogOptions {
  /** The check of each known field, by name; the rest are extras. */
  readonly fields: Readonly<Record<string, QuickCheck>>;
  /** Known fields that must be present. */
  readonly required: readonly string[];
  /** A check every string value must also pass. */
  readonly everyString?: (value: string) => boolean;
}

/**
 * The `quickAccept` of a `webLogObject` contract: one pass over the keys, with the schema's own
 * patterns and bounds. zod spends most of a web log's check in its per-check bookkeeping, which
 * made it the largest cost of the transformer's per-record work. `web-log.quick-check.spec.ts`
 * holds this to the schema: the same verdict on the bad records and on seeded variations of good
 * ones.
 */
export function quickWebLogCheck(options: QuickWebLogOptions): QuickCheck {
  const { fields: known, required, everyString } = options;
  const requiredNames: ReadonlySet<string> = new Set(required);
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    let present = 0;
    let extras = 0;
    for (const name of Object.keys(value)) {
      const field = (value as Record<string, unknown>)[name];
      const check = Object.hasOwn(known, name) ? known[name] : undefined;
      if (check !== undefined) {
        if (!check(field)) return false;
        if (requiredNames.has(name)) present++;
      } else {
        if (++extras > WEB_LOG_LIMITS.extraFieldsMax) return false;
        if (FORBIDDEN_NAMES.has(name) || name.length > WEB_LOG_LIMITS.extraNameMaxLength || !extraName.test(name)) return false;
        if (!quickExtraValue(field)) return false;
      }
      if (everyString !== undefined && typeof field === 'string' && !everyString(field)) return false;
    }
    return present === requiredNames.size;
  };
}

/**
 * Value of `input-topic`: one web-access log line, as any producer writes it. The six fields of
 * the original notes are required; `event_id` is optional (the transformer derives one); extra
 * fields an access log carries are kept, within bounds.
 */
export const WebLogContract = defineContract(
  'WebLog',
  webLogObject(webLogShape),
  quickWebLogCheck({ fields: quickWebLogFields, required: Object.keys(fields) }),
);
export type WebLog = z.infer<typeof WebLogContract.schema>;
