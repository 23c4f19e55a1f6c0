import { isAscii } from 'node:buffer';
import { Contract } from '../contracts/contract';

/** Why a record could not be accepted; the value of the dead-letter reason header. */
export const DecodeFailure = {
  emptyValue: 'empty-value',
  oversize: 'oversize',
  invalidUtf8: 'invalid-utf8',
  invalidJson: 'invalid-json',
  notAnObject: 'not-an-object',
  duplicateKey: 'duplicate-key',
  contractViolation: 'contract-violation',
} as const;
export type DecodeFailureReason = (typeof DecodeFailure)[keyof typeof DecodeFailure];

export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: DecodeFailureReason; readonly detail: string };

export interface DecodeOptions {
  /** Largest accepted value in bytes; larger values are rejected before parsing. */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail<T>(reason: DecodeFailureReason, detail: string): DecodeResult<T> {
  return { ok: false, reason, detail: detail.length > 500 ? `${detail.slice(0, 497)}...` : detail };
}

/**
 * Turns the bytes of a Kafka value into a value of the contract, or into a typed failure.
 * Never throws: every way bytes can be wrong ends as a reason a dead letter can carry.
 */
export function decode<T>(
  contract: Contract<T>,
  bytes: Buffer | Uint8Array | null | undefined,
  options: DecodeOptions = {},
): DecodeResult<T> {
  if (bytes === null || bytes === undefined || bytes.length === 0) {
    return fail(DecodeFailure.emptyValue, 'the record has no value (null or empty)');
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_VALUE_BYTES;
  if (bytes.length > maxBytes) {
    return fail(DecodeFailure.oversize, `value is ${bytes.length} bytes, the limit is ${maxBytes}`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return fail(DecodeFailure.invalidUtf8, 'value is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(DecodeFailure.invalidJson, error instanceof Error ? error.message : String(error));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail(DecodeFailure.notAnObject, `expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  const duplicate = findDuplicateTopLevelKey(text, parsed);
  if (duplicate !== undefined) {
    return fail(DecodeFailure.duplicateKey, `key "${duplicate}" appears more than once`);
  }
  if (contract.quickAccept?.(parsed) === true) return { ok: true, value: parsed as T };
  const result = contract.schema.safeParse(parsed);
  if (!result.success) {
    const detail = result.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
      .join('; ');
    return fail(DecodeFailure.contractViolation, `${contract.name}: ${detail}`);
  }
  return { ok: true, value: result.data };
}

// The characters that may come right before the colon after a key.
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * JSON.parse keeps the last of duplicate keys silently, which would let a record say two things.
 * Counting the keys of the text is only needed when the parsed object could have lost one, so a
 * cheap bound runs first: every key written is followed by a colon, right after its closing quote
 * or after JSON whitespace, so no more keys were written than there are such colons. When there
 * are no more of them than the object has keys, none was lost.
 */
function findDuplicateTopLevelKey(text: string, parsed: object): string | undefined {
  const keys = Object.keys(parsed).length;
  let separators = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) {
    const before = text.charCodeAt(i - 1);
    if (before === QUOTE || before === SPACE || before === TAB || before === LINE_FEED || before === CARRIAGE_RETURN) separators++;
  }
  if (separators <= keys) return undefined;
  return scanTopLevelKeys(text);
}

function scanTopLevelKeys(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      const end = endOfString(text, i);
      if (depth === 1) {
        let j = end + 1;
        while (j < text.length && /\s/.test(text[j] ?? '')) j++;
        if (text[j] === ':') {
          const key = JSON.parse(text.slice(i, end + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = end + 1;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
    i++;
  }
  return undefined;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i;
    else i++;
  }
  return text.length - 1;
}

const ESCAPE_U = Buffer.from('\\u', 'latin1');

/**
 * True when every string `JSON.parse` makes of these bytes is ASCII: the bytes are, and there is
 * no `\u` escape (the one way ASCII JSON names a character beyond ASCII). An escaped backslash
 * before a `u` is refused too, which costs only the shortcut it would have allowed.
 */
export function isAsciiJson(bytes: Uint8Array): boolean {
  // A plain Uint8Array's indexOf looks for one element, not a sequence: search it as a Buffer.
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return isAscii(buffer) && buffer.indexOf(ESCAPE_U) === -1;
}

/**
 * Marks a value that passed its contract in this process with the contract it passed: `encode`
 * need not check it a second time. Objects from `conform` only: the schema's fresh copies, or
 * values the quick check accepted, which the caller hands over with the call; the contracts'
 * values are read-only. The mark is a property of the object itself, keyed by a symbol and not
 * enumerable, so JSON, `Object.keys`, a spread and `Object.assign` all leave it out: a copy is
 * checked again. (A WeakMap did the same; with it a record's decode, checks and encode took
 * about 5 % longer.) A frozen object cannot take it and is checked again when encoded.
 */
const CONFORMS_TO = Symbol('conformsTo');

function markConforming(value: object, contract: Contract<unknown>): void {
  if (Object.isExtensible(value)) Object.defineProperty(value, CONFORMS_TO, { value: contract, configurable: true });
}

function conformsTo(value: object): unknown {
  return (value as { [CONFORMS_TO]?: unknown })[CONFORMS_TO];
}

export type ConformResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly detail: string };

/**
 * Checks a value against a contract; the value it returns is one `encode` trusts. The caller
 * must not change the value it passed afterwards: the result may be that same object.
 *
 * `quickAccept` stands in for the contract's own quick check when a caller knows more about the
 * value than the contract can: the transformer knows its output is an upper-cased copy of a value
 * that passed the input contract, and checks only what that leaves open. It keeps the quick
 * check's promise (true only for a value the schema accepts); false hands the value to the schema.
 */
export function conform<T>(
  contract: Contract<T>,
  value: unknown,
  quickAccept: ((value: object) => boolean) | undefined = contract.quickAccept,
): ConformResult<T> {
  if (typeof value === 'object' && value !== null && quickAccept?.(value) === true) {
    markConforming(value, contract);
    return { ok: true, value: value as T };
  }
  const result = contract.schema.safeParse(value);
  if (!result.success) return { ok: false, detail: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (typeof result.data === 'object' && result.data !== null) markConforming(result.data, contract);
  return { ok: true, value: result.data };
}

/**
 * Serialises a value after checking it against its contract (unless `conform` already did). A
 * failure here is a bug in the producing code, not bad input, so it throws.
 */
export function encode<T>(contract: Contract<T>, value: T): Buffer {
  if (typeof value !== 'object' || value === null || (conformsTo(value) !== contract && contract.quickAccept?.(value) !== true)) {
    const result = contract.schema.safeParse(value);
    if (!result.success) {
      throw new TypeError(`refusing to send a value that violates ${contract.name}: ${result.error.message}`);
    }
    value = result.data;
  }
  return Buffer.from(JSON.stringify(value), 'utf8');
}
