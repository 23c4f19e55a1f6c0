/**
 * The timestamps web logs carry, read without `Date.parse` (which accepts far too much and
 * reads a zone-less time in the machine's zone):
 *
 * - ISO 8601 `2026-10-10T13:55:36`, with `.f` up to microseconds, and `Z`, `+09:00`, `+0900` or
 *   no zone; a space may stand for the `T` (Python's `str(datetime)`);
 * - the access-log form `10/Oct/2026:13:55:36 +0900` (nginx `$time_local`, Apache `%t`).
 *
 * Only real instants pass: no 30 February, no hour 24, no second 60. A time without a zone is read
 * in a zone the caller names (an IANA name), through the runtime's time-zone data.
 */

export interface WebLogTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** The fractional second's digits as written (0 to 6 of them). */
  readonly fraction: string;
  /** Minutes east of UTC, or undefined when the text names no zone. */
  readonly offsetMinutes: number | undefined;
}

/** Longest text either form can take; anything longer is refused before a regex runs. */
export const TIMESTAMP_MAX_LENGTH = 32;

// Compiled once: the contract runs these for every record.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/;
const ACCESS_LOG = /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})$/;
const MONTHS: Readonly<Record<string, number>> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
/** The widest offset ISO 8601 zones use in practice (Java's ZoneOffset bound). */
const MAX_OFFSET_MINUTES = 18 * 60;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** `+09:00`, `+0900`, `Z` -> minutes east of UTC; undefined when out of range. */
function offsetOf(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const digits = zone.length === 6 ? zone.slice(1, 3) + zone.slice(4) : zone.slice(1);
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (minutes > 59) return undefined;
  const total = hours * 60 + minutes;
  if (total > MAX_OFFSET_MINUTES) return undefined;
  return zone.startsWith('-') ? -total : total;
}

function realTime(time: WebLogTime): WebLogTime | undefined {
  const { year, month, day, hour, minute, second } = time;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return time;
}

// A record's timestamp is read three times on its way through the transformer (the input's
// check, the conversion to UTC, the output's check of the upper-cased text, which is the same
// text): the last answer is kept. The answers are read-only, so sharing one is safe.
let lastText: string | undefined;
let lastTime: WebLogTime | undefined;

/** The fields of a web-log timestamp, or undefined when the text is not one (or names no real time). */
export function parseWebLogTimestamp(text: string): WebLogTime | undefined {
  if (text !== lastText) {
    lastTime = readWebLogTimestamp(text);
    lastText = text;
  }
  return lastTime;
}

function readWebLogTimestamp(text: string): WebLogTime | undefined {
  if (text.length > TIMESTAMP_MAX_LENGTH) return undefined;
  const iso = ISO.exec(text);
  if (iso) {
    const zone = iso[8];
    const offsetMinutes = zone === undefined ? undefined : offsetOf(zone);
    if (zone !== undefined && offsetMinutes === undefined) return undefined;
    return realTime({
      year: Number(iso[1]),
      month: Number(iso[2]),
      day: Number(iso[3]),
      hour: Number(iso[4]),
      minute: Number(iso[5]),
      second: Number(iso[6]),
      fraction: iso[7] ?? '',
      offsetMinutes,
    });
  }
  const log = ACCESS_LOG.exec(text);
  if (log) {
    const month = MONTHS[(log[2] ?? '').toLowerCase()];
    const offsetMinutes = offsetOf(log[7] ?? '');
    if (month === undefined || offsetMinutes === undefined) return undefined;
    return realTime({
      year: Number(log[3]),
      month,
      day: Number(log[1]),
      hour: Number(log[4]),
      minute: Number(log[5]),
      second: Number(log[6]),
      fraction: '',
      offsetMinutes,
    });
  }
  return undefined;
}

export function isWebLogTimestamp(text: string): boolean {
  return parseWebLogTimestamp(text) !== undefined;
}

/** Days since 1970-01-01 of a proleptic Gregorian date, valid for every year (no `Date` two-digit-year quirk). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The wall-clock time of the fields read as if it were UTC, in epoch milliseconds. */
function wallMs(time: WebLogTime): number {
  const ms = Number(time.fraction.slice(0, 3).padEnd(3, '0'));
  return daysFromCivil(time.year, time.month, time.day) * DAY_MS + ((time.hour * 60 + time.minute) * 60 + time.second) * 1000 + ms;
}

/** Whether the runtime knows a time zone by this name (IANA names such as `Europe/Berlin`, and `UTC`). */
export function isTimeZone(name: string): boolean {
  if (name.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns wall-clock times of one zone into instants. Where the clocks go back and a wall time
 * happens twice it takes the earlier; in the hour the clocks skip it moves forward by the gap
 * (both as Python's `fold=0`, Java's `ZonedDateTime` and Temporal's `compatible` do).
 */
export class ZoneResolver {
  private readonly format: Intl.DateTimeFormat | undefined;
  /** Offsets change on whole minutes: a stream of records from one minute asks the time-zone data once. */
  private lastMinute = Number.NaN;
  private lastInstant = 0;

  constructor(readonly zone: string) {
    if (!isTimeZone(zone)) throw new RangeError(`unknown time zone ${zone}`);
    const utc = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
    this.format =
      utc === 'UTC' || utc === 'Etc/UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone: zone,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
            era: 'short',
          });
  }

  /** The instant (epoch ms) of a wall-clock time (epoch ms read as UTC) in this zone. */
  instantOf(wall: number): number {
    if (this.format === undefined) return wall;
    const minute = Math.floor(wall / MINUTE_MS);
    if (minute !== this.lastMinute) {
      this.lastInstant = this.resolveMinute(minute * MINUTE_MS);
      this.lastMinute = minute;
    }
    return this.lastInstant + (wall - minute * MINUTE_MS);
  }

  private resolveMinute(wall: number): number {
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    const candidates = [before, after].map((offset) => wall - offset).filter((instant) => this.offsetAt(instant) === wall - instant);
    if (candidates.length > 0) return Math.min(...candidates);
    return wall - before;
  }

  /** The zone's offset from UTC at an instant, in ms. */
  private offsetAt(instant: number): number {
    const parts = (this.format as Intl.DateTimeFormat).formatToParts(instant);
    const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    const era = parts.find((p) => p.type === 'era')?.value;
    const year = era === 'BC' || era === 'B' ? 1 - field('year') : field('year');
    const local =
      daysFromCivil(year, field('month'), field('day')) * DAY_MS + ((field('hour') * 60 + field('minute')) * 60 + field('second')) * 1000;
    return local - (instant - (((instant % 1000) + 1000) % 1000));
  }
}

const resolvers = new Map<string, ZoneResolver>();

function resolverFor(zone: string): ZoneResolver {
  let resolver = resolvers.get(zone);
  if (!resolver) {
    resolver = new ZoneResolver(zone);
    resolvers.set(zone, resolver);
  }
  return resolver;
}

/** `YYYY-MM-DDTHH:MM:SS.sss[sss]Z`: what `timestampToUtc` writes. */
export const UTC_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,6}Z$/;

/**
 * The instant a web-log timestamp names, in ISO 8601 UTC with `Z`, at the precision the text had
 * and milliseconds at least; a zone-less text is read in `zone`. Undefined when the text is not a
 * timestamp or its instant falls outside the years 0000 to 9999.
 */
export function timestampToUtc(text: string, zone = 'UTC'): string | undefined {
  const time = parseWebLogTimestamp(text);
  if (time === undefined) return undefined;
  // Already the form this returns (`toISOString()`, Java's `Instant` at millisecond precision or
  // finer): the text is its own answer. Its year is 0001 to 9999, which the form cannot leave.
  if (time.offsetMinutes === 0 && time.fraction.length >= 3 && text.charCodeAt(10) === 0x54 && text.charCodeAt(text.length - 1) === 0x5a)
    return text;
  const wall = wallMs(time);
  const instant = time.offsetMinutes === undefined ? resolverFor(zone).instantOf(wall) : wall - time.offsetMinutes * MINUTE_MS;
  const iso = isoMilliseconds(instant);
  if (iso === undefined) return undefined;
  // Offsets are whole minutes (or seconds), so the digits below the millisecond are the text's own.
  return time.fraction.length > 3 ? `${iso}${time.fraction.slice(3)}Z` : `${iso}Z`;
}

/** Year, month and day of a count of days since 1970-01-01 (the inverse of `daysFromCivil`). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day: doy - Math.floor((153 * mp + 2) / 5) + 1 };
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const pad = (value: number, width: number): string => (width === 2 ? TWO_DIGITS[value] : String(value).padStart(width, '0'));

/**
 * `Date#toISOString` without its `Z`, for the years 0000 to 9999 (undefined outside them). Written
 * out because `toISOString` cost about a microsecond a record, as much as the rest of the
 * timestamp's handling.
 */
export function isoMilliseconds(instant: number): string | undefined {
  const days = Math.floor(instant / DAY_MS);
  const { year, month, day } = civilFromDays(days);
  if (year < 0 || year > 9999) return undefined;
  let rest = instant - days * DAY_MS;
  const ms = rest % 1000;
  rest = (rest - ms) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad((rest - (rest % 60)) / 60, 2)}:${pad(rest % 60, 2)}:${pad(second, 2)}.${pad(ms, 3)}`;
}
