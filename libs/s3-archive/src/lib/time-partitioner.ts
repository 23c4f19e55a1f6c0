/**
 * The time partitions of the archive, with the semantics of Kafka Connect's TimeBasedPartitioner:
 * a record's time is floored to a multiple of `partition.duration.ms` counted in local time of
 * `timezone` (so daily partitions start at local midnight), and that start is written with
 * `path.format`, a Joda-Time pattern such as `'dt'=YYYY-MM-dd/'hour'=HH`.
 */
export interface TimePartitioning {
  readonly pathFormat: string;
  readonly durationMs: number;
  readonly timeZone: string;
  readonly locale: string;
}

type Token = { readonly literal: string } | { readonly letter: string; readonly width: number };

/** Joda pattern letters this partitioner writes; anything else is refused when the pattern is read. */
const LETTERS = new Set(['Y', 'y', 'x', 'M', 'd', 'D', 'H', 'k', 'h', 'm', 's', 'S', 'E', 'a']);

/** Splits a Joda pattern into letters and literals (`'text'` quoted, `''` a quote); throws naming a letter it cannot write. */
export function parsePathFormat(pattern: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        tokens.push({ literal: "'" });
        i += 2;
        continue;
      }
      // Inside quotes too, '' stands for one quote.
      let literal = '';
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new Error(`unterminated quote at position ${i + 1}`);
        if (pattern[j] === "'" && pattern[j + 1] === "'") {
          literal += "'";
          j += 2;
        } else if (pattern[j] === "'") break;
        else literal += pattern[j++];
      }
      tokens.push({ literal });
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      if (!LETTERS.has(c)) throw new Error(`pattern letter ${c} is not supported (supported: ${[...LETTERS].join(' ')})`);
      let width = 1;
      while (pattern[i + width] === c) width++;
      tokens.push({ letter: c, width });
      i += width;
    } else {
      tokens.push({ literal: c });
      i++;
    }
  }
  if (!tokens.some((t) => 'letter' in t)) throw new Error('has no date or time field');
  return tokens;
}

/** Throws unless the time zone is one the runtime knows (IANA names such as UTC or Europe/Paris). */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en', { timeZone });
}

/** The locale in BCP 47 form; Java's `en_US` is accepted too. Throws on a malformed tag. */
export function canonicalLocale(locale: string): string {
  const [canonical] = Intl.getCanonicalLocales(locale.replace(/_/g, '-'));
  if (!canonical) throw new Error('is empty');
  return canonical;
}

const fieldFormats = new Map<string, Intl.DateTimeFormat>();

/** Milliseconds `timeZone` is ahead of UTC at the instant `utcMs`. */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  let format = fieldFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    fieldFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(utcMs)).map((p) => [p.type, Number(p.value)]));
  const local = Date.UTC(
    parts['year'] ?? 0,
    (parts['month'] ?? 1) - 1,
    parts['day'] ?? 1,
    parts['hour'] ?? 0,
    parts['minute'] ?? 0,
    parts['second'] ?? 0,
  );
  return local - Math.floor(utcMs / 1000) * 1000;
}

/** Local wall time of `utcMs` in `timeZone`, as milliseconds on a UTC scale. */
export function localTimeMs(utcMs: number, timeZone: string): number {
  return utcMs + zoneOffsetMs(utcMs, timeZone);
}

export class TimePartitioner {
  private readonly tokens: Token[];
  private readonly locale: string;

  constructor(private readonly partitioning: TimePartitioning) {
    this.tokens = parsePathFormat(partitioning.pathFormat);
    checkTimeZone(partitioning.timeZone);
    this.locale = canonicalLocale(partitioning.locale);
  }

  /** The partition path of a record time, e.g. `dt=2026-11-23/hour=07`. */
  path(timeMs: number): string {
    const local = localTimeMs(timeMs, this.partitioning.timeZone);
    const start = new Date(Math.floor(local / this.partitioning.durationMs) * this.partitioning.durationMs);
    return this.tokens.map((token) => ('literal' in token ? token.literal : this.field(token.letter, token.width, start))).join('');
  }

  /** One field of the partition start, which is already local time laid on the UTC scale. */
  private field(letter: string, width: number, start: Date): string {
    const pad = (n: number) => String(n).padStart(width, '0');
    const text = (options: Intl.DateTimeFormatOptions) =>
      new Intl.DateTimeFormat(this.locale, { ...options, timeZone: 'UTC' }).format(start);
    switch (letter) {
      case 'Y':
      case 'y':
      case 'x':
        return width === 2 ? String(start.getUTCFullYear() % 100).padStart(2, '0') : pad(start.getUTCFullYear());
      case 'M':
        if (width >= 4) return text({ month: 'long' });
        if (width === 3) return text({ month: 'short' });
        return pad(start.getUTCMonth() + 1);
      case 'd':
        return pad(start.getUTCDate());
      case 'D':
        return pad(Math.floor((start.getTime() - Date.UTC(start.getUTCFullYear(), 0, 1)) / 86400000) + 1);
      case 'H':
        return pad(start.getUTCHours());
      case 'k':
        return pad(start.getUTCHours() === 0 ? 24 : start.getUTCHours());
      case 'h':
        return pad(start.getUTCHours() % 12 === 0 ? 12 : start.getUTCHours() % 12);
      case 'm':
        return pad(start.getUTCMinutes());
      case 's':
        return pad(start.getUTCSeconds());
      case 'S':
        return String(start.getUTCMilliseconds()).padStart(3, '0').slice(0, width).padEnd(width, '0');
      case 'E':
        return text({ weekday: width >= 4 ? 'long' : 'short' });
      default:
        return text({ hour: 'numeric', hour12: true }).replace(/^[\d\s]+/, '');
    }
  }
}
