// `npm run bench -- transformer --floors`: what our transformer's per-record work costs, measured
// as rates. Our transformer runs beside copies of itself whose transform thread does less than the
// contract asks, and beside the bare kafkajs loop, in alternating rounds over one input topic:
// - one string: each value upper-cased as one string, the loop's work, in our transport and thread;
// - JSON only: each value parsed, its string values upper-cased and serialised again, no checks.
// The copies are the built service itself, started with a preload (`floor-preload.ts`) that swaps
// the transform thread's job for one of these; the main thread is left as it is. Neither is a
// transformer anyone should run: they refuse nothing and add no `event_id` or `timestamp_utc`.
import path from 'node:path';
import { BenchContext } from './context';
import { ratio, roundRatios, table } from './measure';
import { startTransformer } from './peers';
import { Floor, FLOOR_VARIABLE, FLOORS } from './floor-job';
import { Contender, contenders, eachRound, KAFKAJS_LOOP, OURS, TransformerResult, warmUpNote } from './transformer';

/**
 * What shows that an output is not a floor's, or undefined: the transformer's own job adds
 * `timestamp_utc` to every record, a floor none. A preload that did not take would otherwise pass
 * our transformer off as its floor.
 */
export function notFloorOutput(values: readonly string[]): string | undefined {
  return values.find((text) => text.includes('"timestamp_utc"'));
}

/** Fails unless the first records of a floor's output topic are the floor's (`notFloorOutput`). */
export function checkFloorOutput(topic: string, floor: Floor, values: readonly string[]): void {
  const found = notFloorOutput(values);
  if (found !== undefined) throw new Error(`${topic} holds a record of the transformer's own job, not of the ${floor} floor: ${found}`);
}

/** The built preload that swaps the transform thread's job. */
const PRELOAD = path.join(__dirname, 'floor-preload.js');

function floorContender(floor: Floor): Contender {
  return {
    name: FLOORS[floor],
    guarantee: 'at-least-once',
    start: (topics, groupId) =>
      startTransformer({
        ...topics,
        groupId,
        guarantee: 'at-least-once',
        extra: {
          NODE_OPTIONS: `--require ${PRELOAD}`,
          [FLOOR_VARIABLE]: floor,
          // Every batch to the thread: no record takes the contract's path on the main thread.
          TRANSFORMER_THREAD_MIN_BATCH: '1',
        },
      }),
    verify: (output, values) => checkFloorOutput(output, floor, values),
  };
}

/** Our single process at least once, the two floors, and the bare kafkajs loop. */
export function floorContenders(ctx: BenchContext): Contender[] {
  const all = contenders(ctx);
  const pick = (name: string) => {
    const found = all.find((c) => c.name === name && c.guarantee === 'at-least-once');
    if (!found) throw new Error(`no contender ${name}`);
    return found;
  };
  return [pick(OURS), floorContender('json'), floorContender('one-string'), pick(KAFKAJS_LOOP)];
}

export function floorsTable(result: TransformerResult): string {
  const loop = result.rows.find((r) => r.contender === KAFKAJS_LOOP);
  const figures = table(
    [
      'contender',
      'records',
      'sustained records/s',
      'each round',
      'vs the kafkajs loop',
      'vs the loop, each round',
      'CPU s',
      'records per CPU-second',
      'machine busy %',
      'peak RSS MiB',
    ],
    result.rows.map((r) => [
      r.contender,
      r.records,
      r.sustainedPerSecond,
      eachRound(r),
      ratio(r.sustainedPerSecond, loop?.sustainedPerSecond ?? 0),
      roundRatios(r.rounds, loop?.rounds) || 'n/a',
      r.cpuSeconds,
      r.recordsPerCpuSecond,
      r.machineBusyPercent ?? 'not measured',
      r.peakRssMiB,
    ]),
  );
  const rounds =
    result.rounds > 1
      ? `All at least once. Each figure is the median of ${result.rounds} rounds; every round ran each contender once, the rounds alternately in the table's order and in reverse.`
      : 'All at least once, one round.';
  return `${figures}\n\n${rounds}${warmUpNote(result.warmUps)}`;
}
