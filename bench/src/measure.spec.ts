import {
  crossing,
  machineBusyPercent,
  median,
  medians,
  parseConsumerPerformance,
  parseCpuTicks,
  parseProducerPerformance,
  ratio,
  rates,
  roundRatios,
  table,
  withSection,
} from './measure';

describe('rates', () => {
  const samples = [
    { seconds: 1, done: 0 },
    { seconds: 2, done: 100 },
    { seconds: 3, done: 500 },
    { seconds: 4, done: 900 },
    { seconds: 5, done: 1000 },
  ];

  it('interpolates when progress crossed a mark', () => {
    expect(crossing(samples, 300)).toBe(2.5);
    expect(crossing(samples, 1000)).toBe(5);
    expect(crossing(samples, 1001)).toBeUndefined();
  });

  it('takes the sustained rate between 10 % and 90 %, start-up to the first record', () => {
    // 10 % (100) at 2 s, 90 % (900) at 4 s: 800 records in 2 s.
    expect(rates(samples, 1000)).toEqual({ startupSeconds: 2, totalSeconds: 5, sustainedPerSecond: 400, lateVsEarly: 1 });
  });

  it('compares the rate of the second half of the steady state with the first', () => {
    // 10 % at 2 s, 50 % at 3 s (400 records in 1 s), 90 % at 5 s (400 records in 2 s): half the rate.
    const slowing = [
      { seconds: 1, done: 0 },
      { seconds: 2, done: 100 },
      { seconds: 3, done: 500 },
      { seconds: 5, done: 900 },
      { seconds: 6, done: 1000 },
    ];
    expect(rates(slowing, 1000).lateVsEarly).toBe(0.5);
  });

  it('fails when the total was never reached', () => {
    expect(() => rates(samples, 2000)).toThrow(/never reached 2000/);
  });
});

describe('perf tool reports', () => {
  it("reads ProducerPerformance's summary line", () => {
    const output = [
      '152340 records sent, 30468.0 records/sec (8.19 MB/sec), 600.1 ms avg latency, 900.0 ms max latency.',
      '1000000 records sent, 123456.7 records/sec (33.20 MB/sec), 210.55 ms avg latency, 812.00 ms max latency, 180 ms 50th, 500 ms 95th, 640 ms 99th, 790 ms 99.9th.',
    ].join('\n');
    expect(parseProducerPerformance(output)).toEqual({ records: 1000000, perSecond: 123457, mbPerSecond: 33.2, p50Ms: 180, p99Ms: 640 });
  });

  it("reads ConsumerPerformance's CSV by column name", () => {
    const output = [
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-11-25 07:40:01:000, 2026-11-25 07:40:09:000, 268.9, 33.6, 1000000, 125000.0, 3000, 5000, 53.78, 200000.0',
    ].join('\n');
    expect(parseConsumerPerformance(output)).toEqual({ records: 1000000, perSecond: 200000, mbPerSecond: 53.78 });
  });

  it('says what is missing when a tool printed no figures', () => {
    expect(() => parseProducerPerformance('Exception in thread "main"')).toThrow(/no summary line/);
    expect(() => parseConsumerPerformance('WARN nothing')).toThrow(/no data.consumed.in.nMsg/);
  });
});

describe('formatting', () => {
  it('gives ratios to two places and n/a without a peer', () => {
    expect(ratio(150, 100)).toBe('1.50x');
    expect(ratio(1, 0)).toBe('n/a');
  });

  it("pairs two contenders' rounds in the order they ran, and only rounds they both ran", () => {
    expect(roundRatios([69, 100, 73], [100, 100, 100])).toBe('0.69x, 1.00x, 0.73x');
    expect(roundRatios([1, 2], [1, 2, 3])).toBe('');
    expect(roundRatios([5], [5])).toBe('');
    expect(roundRatios(undefined, [1, 2])).toBe('');
    expect(roundRatios([1, 2], [1, 0])).toBe('1.00x, n/a');
  });

  it('takes the median of rounds in any order, the lower middle one of an even count', () => {
    expect(median([95, 83, 88, 91, 86])).toBe(88);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it("takes each figure's median on its own, over the runs that have it", () => {
    const runs: { rate: number; cpu: number; broker?: number; name: string }[] = [
      { rate: 300, cpu: 4, broker: 2, name: 'a' },
      { rate: 100, cpu: 9, name: 'b' },
      { rate: 110, cpu: 5, broker: 9, name: 'c' },
    ];
    // Not the means (170, 6), and not one run's figures taken whole; the broker's over two runs.
    expect(medians(runs, ['rate', 'cpu', 'broker'])).toEqual({ rate: 110, cpu: 5, broker: 2 });
    expect(medians([{ rate: 1, broker: undefined }], ['rate', 'broker'])).toEqual({ rate: 1 });
    expect(() => medians([], ['rate'] as never[])).toThrow('no runs');
  });

  it('writes a Markdown table with thousands separators', () => {
    expect(table(['a', 'b'], [['x', 12345]])).toBe('| a | b |\n| --- | --- |\n| x | 12,345 |');
  });
});

describe('withSection', () => {
  const doc = ['# Doc', '<!-- a:begin -->', 'old table', '<!-- a:end -->', '<!-- b:begin -->', '<!-- b:end -->', 'tail'].join('\n');

  it("replaces what stands between a section's markers, and nothing else", () => {
    expect(withSection(doc, 'a', '| new |')).toBe(doc.replace('old table', '| new |'));
  });

  it('fills a section that holds nothing yet', () => {
    expect(withSection(doc, 'b', '| new |')).toBe(doc.replace('<!-- b:begin -->\n', '<!-- b:begin -->\n| new |\n'));
  });

  it('writes the text as it is, dollar signs included', () => {
    expect(withSection(doc, 'a', "costs $1 and $& and $'")).toContain("<!-- a:begin -->\ncosts $1 and $& and $'\n<!-- a:end -->");
  });

  it('refuses a document without the section', () => {
    expect(() => withSection(doc, 'c', 'x')).toThrow('no <!-- c:begin --> section');
  });
});

describe('machine busy', () => {
  it('reads the CPU line of /proc/stat: every state counted, idle and iowait as idle', () => {
    const stat = 'cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\nintr 12345\n';
    expect(parseCpuTicks(stat, 1.5)).toEqual({ seconds: 1.5, total: 980, idle: 820 });
    expect(() => parseCpuTicks('intr 12345\n', 0)).toThrow('not the first line of /proc/stat');
  });

  it('takes the busy share from the last reading before the span to the first after it', () => {
    const readings = [
      { seconds: 0, total: 0, idle: 0 },
      { seconds: 1, total: 200, idle: 150 },
      { seconds: 2, total: 400, idle: 170 },
      { seconds: 3, total: 600, idle: 190 },
      { seconds: 4, total: 800, idle: 400 },
    ];
    // From the reading at 1 s to the one at 3 s: 400 ticks, 40 of them idle.
    expect(machineBusyPercent(readings, 1.5, 2.5)).toBe(90);
    expect(machineBusyPercent(readings, 1, 3)).toBe(90);
    // From 0 s to 4 s: 800 ticks, 400 idle.
    expect(machineBusyPercent(readings, 0.5, 3.5)).toBe(50);
    expect(machineBusyPercent(readings, 2, 4)).toBe(42.5);
    // No reading after the span: nothing to tell.
    expect(machineBusyPercent(readings, 1, 5)).toBeUndefined();
  });
});
