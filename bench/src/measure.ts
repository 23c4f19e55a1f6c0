// Pure arithmetic of the benchmarks: rates from progress samples, the perf tools' reports, ratios.

/** Records done, `seconds` after the process under test was started. */
export interface Sample {
  readonly seconds: number;
  readonly done: number;
}

export interface Rates {
  /** From the start of the process to its first record out: JVM or Node boot, group join, first fetch. */
  readonly startupSeconds: number;
  /** From the start of the process until every record was out. */
  readonly totalSeconds: number;
  /** Between 10 % and 90 % of the records: the steady state, without start-up or the last batches. */
  readonly sustainedPerSecond: number;
  /**
   * The rate from 50 % to 90 % over the rate from 10 % to 50 %: below 1 when a contender slows
   * down as the run goes on (a heap that grows, a cost that grows with what it has done).
   */
  readonly lateVsEarly: number;
}

/** When progress first reached `target`, interpolated between the two samples around it. */
export function crossing(samples: readonly Sample[], target: number): number | undefined {
  let previous: Sample = { seconds: 0, done: 0 };
  for (const sample of samples) {
    if (sample.done >= target) {
      if (sample.done === previous.done) return sample.seconds;
      const share = (target - previous.done) / (sample.done - previous.done);
      return previous.seconds + share * (sample.seconds - previous.seconds);
    }
    previous = sample;
  }
  return undefined;
}

export function rates(samples: readonly Sample[], total: number): Rates {
  const first = samples.find((s) => s.done > 0);
  const end = crossing(samples, total);
  const from = crossing(samples, total * 0.1);
  const to = crossing(samples, total * 0.9);
  const middle = crossing(samples, total * 0.5);
  if (!first || end === undefined || from === undefined || to === undefined || middle === undefined) {
    throw new Error(`progress never reached ${total} records (last sample: ${JSON.stringify(samples.at(-1))})`);
  }
  return {
    startupSeconds: round(first.seconds, 2),
    totalSeconds: round(end, 2),
    // Samples at 10 % and 90 % can share a poll when a peer is very fast: fall back to the whole run.
    sustainedPerSecond: Math.round(to > from ? (total * 0.8) / (to - from) : total / Math.max(end - first.seconds, 0.001)),
    // Equal rates when the halves share a poll (too fast to tell them apart).
    lateVsEarly: middle > from && to > middle ? round((middle - from) / (to - middle), 2) : 1,
  };
}

/** The machine's CPU time from `/proc/stat`'s first line, in clock ticks: all of it, and idle. */
export interface CpuTicks {
  readonly seconds: number;
  readonly total: number;
  readonly idle: number;
}

/** The first line of `/proc/stat` (`cpu  user nice system idle iowait irq softirq steal ...`) as ticks at `seconds`. */
export function parseCpuTicks(stat: string, seconds: number): CpuTicks {
  const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) throw new Error(`not the first line of /proc/stat: ${fields.join(' ')}`);
  const ticks = fields.slice(1, 9).map(Number);
  const [, , , idle = 0, iowait = 0] = ticks;
  return { seconds, total: ticks.reduce((sum, t) => sum + t, 0), idle: idle + iowait };
}

/**
 * The share of the machine's CPUs in use, in %, from the last reading at or before `from` to the
 * first at or after `to` (the steady state, between 10 % and 90 % of the records); undefined
 * without readings around it. Every process counts, the broker's and the S3 server's too: it tells
 * a contender that leaves cores idle from one that fills them.
 */
export function machineBusyPercent(readings: readonly CpuTicks[], from: number, to: number): number | undefined {
  const before = readings.filter((r) => r.seconds <= from).at(-1);
  const after = readings.find((r) => r.seconds >= to);
  if (!before || !after || after.total <= before.total) return undefined;
  return round(100 * (1 - (after.idle - before.idle) / (after.total - before.total)), 1);
}

/** The final line of ProducerPerformance: `N records sent, R records/sec (M MB/sec), A ms avg latency, ... P50 ms 50th, ... P99 ms 99th, ...`. */
export function parseProducerPerformance(output: string): {
  records: number;
  perSecond: number;
  mbPerSecond: number;
  p50Ms: number;
  p99Ms: number;
} {
  const line = output
    .split('\n')
    .filter((l) => / records sent, .* 50th, /.test(l))
    .at(-1);
  const match = line && /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\).*?(\d+) ms 50th.*?(\d+) ms 99th/.exec(line.trim());
  if (!match) throw new Error(`no summary line in the producer performance output:\n${output.slice(-2000)}`);
  return {
    records: Number(match[1]),
    perSecond: Math.round(Number(match[2])),
    mbPerSecond: Number(match[3]),
    p50Ms: Number(match[4]),
    p99Ms: Number(match[5]),
  };
}

/** ConsumerPerformance's CSV: the header line, then one line of figures. Fetch figures exclude the group join. */
export function parseConsumerPerformance(output: string): { records: number; perSecond: number; mbPerSecond: number } {
  const lines = output.split('\n').map((l) => l.trim());
  const headerIndex = lines.findIndex((l) => l.startsWith('start.time,'));
  const header = lines[headerIndex]?.split(',').map((f) => f.trim());
  const values = lines[headerIndex + 1]?.split(',').map((f) => f.trim());
  const field = (name: string): number => {
    const value = Number(values?.[header?.indexOf(name) ?? -1]);
    if (!Number.isFinite(value)) throw new Error(`no ${name} in the consumer performance output:\n${output.slice(-2000)}`);
    return value;
  };
  return { records: field('data.consumed.in.nMsg'), perSecond: Math.round(field('fetch.nMsg.sec')), mbPerSecond: field('fetch.MB.sec') };
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** The middle value (the lower of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

/**
 * One record of several runs: each named figure's median over the runs, taken on its own (so the
 * result need not be any one run's figures). A figure some runs lack is the median of those that
 * have it, and left out when none has it. Throws for no runs.
 */
export function medians<T, K extends NumberKeys<T>>(runs: readonly T[], keys: readonly K[]): MediansOf<T, K> {
  if (runs.length === 0) throw new Error('no runs to take medians of');
  const result: Partial<Record<K, number>> = {};
  for (const key of keys) {
    const values = runs.map((run) => run[key]).filter((value): value is T[K] & number => typeof value === 'number');
    if (values.length > 0) result[key] = median(values);
  }
  // Every key asked for holds a number or is absent, which is what MediansOf says key by key.
  return result as unknown as MediansOf<T, K>;
}

/** The keys of `T` whose figures are numbers (or absent). */
export type NumberKeys<T> = { [P in keyof T]-?: Exclude<T[P], undefined> extends number ? P : never }[keyof T];

/** What `medians` gives: the figures every run has, and those only some may have, as optional. */
export type MediansOf<T, K extends keyof T> = { [P in K as undefined extends T[P] ? never : P]: T[P] } & {
  [P in K as undefined extends T[P] ? P : never]?: Exclude<T[P], undefined>;
};

/** `ours / theirs` as `0.42x`. */
export function ratio(ours: number, theirs: number): string {
  return theirs > 0 ? `${round(ours / theirs, 2).toFixed(2)}x` : 'n/a';
}

/**
 * Each round's `ratio` of two contenders that ran in the same rounds, in the order the rounds ran
 * (`0.71x, 1.00x, 0.73x`); '' when they did not run the same rounds. The ratio of two medians can
 * hide that most rounds went the other way: in one run of the transformer benchmark the medians of
 * our transformer and the kafkajs loop gave 0.91x where the rounds gave 0.69x, 1.00x and 0.73x.
 */
export function roundRatios(ours: readonly number[] | undefined, theirs: readonly number[] | undefined): string {
  if (!ours || !theirs || ours.length < 2 || ours.length !== theirs.length) return '';
  return ours.map((value, i) => ratio(value, theirs[i] ?? 0)).join(', ');
}

/** A Markdown table from a header and rows. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => (typeof v === 'number' ? v.toLocaleString('en-US') : v);
  return [header, header.map(() => '---'), ...rows.map((r) => r.map(cell))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** `doc` with `body` between the markers of its section `name`, as written; throws when it has no such section. */
export function withSection(doc: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->\n`;
  const from = doc.indexOf(begin);
  const to = from < 0 ? -1 : doc.indexOf(`<!-- ${name}:end -->`, from + begin.length);
  if (to < 0) throw new Error(`BENCHMARKS.md has no <!-- ${name}:begin --> section`);
  return `${doc.slice(0, from + begin.length)}${body}\n${doc.slice(to)}`;
}
