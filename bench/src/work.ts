// `npm run bench -- work [--against DIR]`: the transform thread's job alone (decode, the contract's
// checks, upper-casing, encode; `transform-job.ts`), with no broker, no transport and no thread,
// over the same generated web logs in every round. A change to the per-record work moves the
// service's rate by a few per cent, less than two runs of one build differ on a shared machine;
// here it is the whole figure. With --against, the job of this checkout and of DIR, each round
// in a process of its own, alternating. The service's own figures are `transformer --against`.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { checkoutName, THIS_CHECKOUT } from './checkout';
import { median, ratio, round, roundRatios, table } from './measure';
import { parseWorkRound, WorkRound } from './work-job';

const run = promisify(execFile);
/** A job's records: the figure is per record, so the size matters only through what a job costs once. */
export const WORK_RECORDS = 3000;
const ROUND_SECONDS = 4;

export interface WorkBuild {
  readonly build: string;
  readonly rounds: readonly WorkRound[];
  /** The median over the rounds of the CPU a record took, in microseconds. */
  readonly medianCpuMicros: number;
}

export interface WorkResult {
  readonly recordsPerJob: number;
  readonly secondsPerRound: number;
  readonly builds: readonly WorkBuild[];
}

export const cpuMicros = (r: WorkRound): number => round((r.cpuSeconds / r.records) * 1e6, 3);

/**
 * Rounds of the job of each checkout (this one first, then the one given, if any), alternating
 * which goes first. The web logs are this checkout's generator's, seed 7, for every build.
 */
export async function benchWork(
  say: (line: string) => void,
  against: string | undefined,
  rounds: number,
  secondsPerRound = ROUND_SECONDS,
): Promise<WorkResult> {
  const root = path.resolve(__dirname, '../..');
  const script = path.join(__dirname, 'work-job.js');
  const builds: [string, string][] = [[THIS_CHECKOUT, root]];
  if (against !== undefined) builds.push([checkoutName(path.resolve(against)), path.resolve(against)]);
  const done = new Map<string, WorkRound[]>(builds.map(([build]) => [build, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [build, checkout] of i % 2 === 0 ? builds : [...builds].reverse()) {
      let output: string;
      try {
        ({ stdout: output } = await run(process.execPath, [script, checkout, root, String(WORK_RECORDS), String(secondsPerRound)]));
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? '';
        throw new Error(`the work of ${build} failed: ${stderr.split('\n').find((l) => l.startsWith('Error')) ?? String(error)}`);
      }
      const figures = parseWorkRound(output);
      done.get(build)?.push(figures);
      say(`round ${i + 1} of ${rounds}: ${build}, ${cpuMicros(figures)} µs of CPU a record`);
    }
  }
  return {
    recordsPerJob: WORK_RECORDS,
    secondsPerRound,
    builds: builds.map(([build]) => {
      const list = done.get(build) ?? [];
      return { build, rounds: list, medianCpuMicros: median(list.map(cpuMicros)) };
    }),
  };
}

export function workTable(result: WorkResult): string {
  const [ours, other] = result.builds;
  const rows = result.builds.map((b) => [b.build, `${b.medianCpuMicros}`, b.rounds.map(cpuMicros).join(', ')]);
  const figures = table(['build', 'CPU a record, µs (median)', 'each round'], rows);
  const job = `The transform thread's job over ${result.recordsPerJob.toLocaleString('en-US')} generated web logs, ${result.secondsPerRound} s a round.`;
  if (!ours || !other) return `${figures}\n\n${job}`;
  const perCpuSecond = (b: WorkBuild) => b.rounds.map((r) => r.records / r.cpuSeconds);
  const rounds = roundRatios(perCpuSecond(ours), perCpuSecond(other));
  const versus =
    `Records per CPU-second, this checkout against ${other.build}: ` +
    `${ratio(other.medianCpuMicros, ours.medianCpuMicros)} by the medians${rounds ? `; each round ${rounds}` : ''}.`;
  return `${figures}\n\n${job} ${versus}`;
}
