// `npm run bench -- transformer --against DIR`: a change measured against the code before it, in
// one run. Our one-process transformer from this checkout and from DIR (another checkout of the
// repository, built), round by round in alternating order, against one broker and one pre-filled
// input topic, in each guarantee. Two runs of one build move by 5 to 10 % on a shared machine, and
// more between runs of the command: medians of alternating rounds are what a change is judged by.
import path from 'node:path';
import { checkoutName, loadBuilt, THIS_CHECKOUT } from './checkout';
import { BenchContext, fillWithWebLogs, freshTopics } from './context';
import { median, ratio, table } from './measure';
import { Contender, contenders, OURS, runContender, WarmUp, warmUp, warmUpNote } from './transformer';

const GUARANTEES = ['at-least-once', 'exactly-once'] as const;

export interface ComparedBuild {
  readonly build: string;
  readonly guarantee: string;
  /** Sustained records/s and CPU seconds of each round, in the order they ran. */
  readonly runs: readonly { readonly perSecond: number; readonly cpuSeconds: number }[];
  readonly medianPerSecond: number;
  readonly medianCpuSeconds: number;
}

export interface ComparisonResult {
  readonly records: number;
  readonly rounds: number;
  readonly against: string;
  readonly builds: readonly ComparedBuild[];
  /** This checkout's unmeasured run before each guarantee's first round. */
  readonly warmUps: readonly WarmUp[];
}

function singleProcess(list: readonly Contender[], guarantee: string, build: string): Contender {
  const found = list.find((c) => c.name === OURS && c.guarantee === guarantee);
  if (!found) throw new Error(`${build} has no single-process transformer contender for ${guarantee}`);
  return found;
}

/** The other checkout's contenders, from its built benchmark: they start its own transformer. */
function contendersOf(checkout: string, ctx: BenchContext): Contender[] {
  const built = path.join(checkout, 'bench', 'dist', 'transformer.js');
  let loaded: { contenders?: typeof contenders };
  try {
    loaded = loadBuilt<{ contenders?: typeof contenders }>(built);
  } catch (error) {
    throw new Error(`--against ${checkout}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof loaded.contenders !== 'function') throw new Error(`--against ${checkout}: ${built} exports no contenders`);
  return loaded.contenders(ctx);
}

export async function compareTransformer(ctx: BenchContext, records: number, against: string, rounds: number): Promise<ComparisonResult> {
  const checkout = path.resolve(against);
  const theirs = contendersOf(checkout, ctx);
  const named = checkoutName(checkout);
  const { input } = await freshTopics(ctx, 'bench-compare', ['input']);
  ctx.say(`pre-filling ${records.toLocaleString('en-US')} web logs with the generator`);
  await fillWithWebLogs(ctx, input, records);
  const builds: ComparedBuild[] = [];
  const warmUps: WarmUp[] = [];
  for (const guarantee of GUARANTEES) {
    const pair: [string, Contender][] = [
      [THIS_CHECKOUT, singleProcess(contenders(ctx), guarantee, THIS_CHECKOUT)],
      [named, singleProcess(theirs, guarantee, named)],
    ];
    warmUps.push(await warmUp(ctx, pair[0][1], input, records));
    const runs = new Map<string, { perSecond: number; cpuSeconds: number }[]>(pair.map(([build]) => [build, []]));
    for (let round = 0; round < rounds; round++) {
      // Alternating which goes first, so neither always follows the other's leftovers.
      for (const [build, contender] of round % 2 === 0 ? pair : [...pair].reverse()) {
        ctx.say(`round ${round + 1} of ${rounds}: ${build}`);
        const row = await runContender(ctx, contender, input, records);
        runs.get(build)?.push({ perSecond: row.sustainedPerSecond, cpuSeconds: row.cpuSeconds });
      }
    }
    for (const [build] of pair) {
      const list = runs.get(build) ?? [];
      builds.push({
        build,
        guarantee,
        runs: list,
        medianPerSecond: median(list.map((r) => r.perSecond)),
        medianCpuSeconds: median(list.map((r) => r.cpuSeconds)),
      });
    }
  }
  return { records, rounds, against: named, builds, warmUps };
}

export function comparisonTable(result: ComparisonResult): string {
  const rows = GUARANTEES.flatMap((guarantee) => {
    const ours = result.builds.find((b) => b.guarantee === guarantee && b.build === THIS_CHECKOUT);
    const before = result.builds.find((b) => b.guarantee === guarantee && b.build !== THIS_CHECKOUT);
    if (!ours || !before) return [];
    const perRound = (b: ComparedBuild) => b.runs.map((r) => r.perSecond.toLocaleString('en-US')).join(', ');
    return [
      [
        guarantee,
        `${ours.medianPerSecond.toLocaleString('en-US')} (${ours.medianCpuSeconds})`,
        `${before.medianPerSecond.toLocaleString('en-US')} (${before.medianCpuSeconds})`,
        ratio(ours.medianPerSecond, before.medianPerSecond),
        perRound(ours),
        perRound(before),
      ],
    ];
  });
  const figures = table(
    [
      'guarantee',
      'this checkout, median records/s (CPU-s)',
      'the other checkout, median records/s (CPU-s)',
      'ratio',
      'this checkout, each round',
      'the other checkout, each round',
    ],
    rows,
  );
  return `${figures}${warmUpNote(result.warmUps)}`;
}
