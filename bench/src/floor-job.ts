// The transform thread's job of each floor of `transformer --floors` (`floors.ts`): what the
// preload (`floor-preload.ts`) puts in place of the contract's job in our transformer's threads.
// It imports nothing, so the preload, which runs before our transformer's main module, loads none
// of the modules the service loads, nor in another order.

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

/** The codec's reason for a record without a value (`DecodeFailure.emptyValue`). */
export const EMPTY_VALUE = 'empty-value';

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
      failures.push({ index: i, reason: EMPTY_VALUE, detail: 'the record has no value (null or empty)' });
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
