// `npm run bench -- transformer --floors`: what our transformer's per-record work costs, measured
// as rates. Our transformer runs beside copies of itself whose transform thread does less than the
// contract asks, and beside the bare kafkajs loop, in alternating rounds over one input topic:
// - one string: each value upper-cased as one string, the loop's work, in our transport and thread;
// - JSON only: each value parsed, its string values upper-cased and serialised again, no checks.
// The copies are the built service itself, started with a preload (`floor-preload.ts`) that swaps
// the transform thread's job for one of these; the main thread is left as it is. Neither is a
// transformer anyone should run: they refuse nothing and add no `event_id` or `timestamp_utc`.
import path from 'node:path';
import { consumeRecords } from '@weblog/kafka-common/testing';
import { BenchContext } from './context';
import { ratio, roundRatios, table } from './measure';
import { startTransformer } from './peers';
import { Contender, contenders, KAFKAJS_LOOP, OURS, TransformerResult, warmUpNote } from './transformer';

export const FLOORS = {
  'one-string': 'weblog transformer, thread: one string (no JSON)',
  json: 'weblog transformer, thread: JSON only (no checks)',
} as const;
export type Floor = keyof typeof FLOORS;

/** The environment variable that names the floor to the preload. */
export const FLOOR_VARIABLE = 'WEBLOG_BENCH_FLOOR';

/** The parts of the transform thread's job and reply a floor reads and writes (`transform-job.ts`). */
export interface FloorJob {
  readonly id: number;
  readonly bytes: Uint8Array;
  /** Per record: its value's length in `bytes`, or -1 for a record without a value. */
  readonly lengths: Int32Array;
}

export interface FloorReply {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly lengths: Int32Array;
  readonly failures: { readonly index: number; readonly reason: string; readonly detail: string }[];
}

export function isFloor(value: string | undefined): value is Floor {
  return value !== undefined && Object.hasOwn(FLOORS, value);
}

function upperCasedJson(text: string): string {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  for (const key of Object.keys(parsed)) {
    const value = parsed[key];
    if (typeof value === 'string') parsed[key] = value.toUpperCase();
  }
  return JSON.stringify(parsed);
}

/**
 * A transform thread's job with a floor's work instead of the contract's: every value becomes its
 * output, nothing is refused but a record without a value (as the transformer refuses it).
 */
export function floorJob(floor: Floor, job: FloorJob): FloorReply {
  const input = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  const lengths = new Int32Array(job.lengths.length);
  const encoded: Buffer[] = [];
  const failures: FloorReply['failures'] = [];
  let at = 0;
  let total = 0;
  for (let i = 0; i < job.lengths.length; i++) {
    const length = job.lengths[i] ?? -1;
    if (length < 0) {
      lengths[i] = -1;
      failures.push({ index: i, reason: 'empty-value', detail: 'the record has no value (null or empty)' });
      continue;
    }
    const text = input.toString('utf8', at, at + length);
    at += length;
    const bytes = Buffer.from(floor === 'json' ? upperCasedJson(text) : text.toUpperCase(), 'utf8');
    encoded.push(bytes);
    lengths[i] = bytes.length;
    total += bytes.length;
  }
  // A buffer of its own, as the transformer's reply: it is moved to the main thread.
  const bytes = Buffer.allocUnsafeSlow(total);
  let out = 0;
  for (const b of encoded) out += b.copy(bytes, out);
  return { id: job.id, bytes, lengths, failures };
}

/**
 * What shows that an output is not a floor's, or undefined: the transformer's own job adds
 * `timestamp_utc` to every record, a floor none. A preload that did not take would otherwise pass
 * our transformer off as its floor.
 */
export function notFloorOutput(values: readonly string[]): string | undefined {
  return values.find((text) => text.includes('"timestamp_utc"'));
}

/** Fails unless the first records of a floor's output topic are the floor's (`notFloorOutput`). */
export async function checkFloorOutput(ctx: Pick<BenchContext, 'kafka'>, topic: string, floor: Floor, count = 20): Promise<void> {
  const records = await consumeRecords(ctx.kafka, topic, count);
  const found = notFloorOutput(records.map((r) => r.message.value?.toString('utf8') ?? ''));
  if (found !== undefined) throw new Error(`${topic} holds a record of the transformer's own job, not of the ${floor} floor: ${found}`);
}

/** The built preload that swaps the transform thread's job. */
const PRELOAD = path.join(__dirname, 'floor-preload.js');

function floorContender(ctx: BenchContext, floor: Floor): Contender {
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
    verify: (output) => checkFloorOutput(ctx, output, floor),
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
  return [pick(OURS), floorContender(ctx, 'json'), floorContender(ctx, 'one-string'), pick(KAFKAJS_LOOP)];
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
      (r.rounds ?? [r.sustainedPerSecond]).map((perSecond) => perSecond.toLocaleString('en-US')).join(', '),
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
