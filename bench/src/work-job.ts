// One round of `npm run bench -- work` (`work.ts`), in a process of its own: the transform thread's
// job of the checkout named (its built `transform-job.js`) over the same generated web logs, again
// and again for the seconds given. Prints one line of JSON: records done and the CPU they took.
import path from 'node:path';
import { loadBuilt } from './checkout';

interface Message {
  readonly offset: string;
  readonly key: null;
  readonly headers: Record<string, never>;
  readonly value: Buffer;
}
interface TransformJobModule {
  packJob(id: number, source: { topic: string; partition: number }, messages: readonly Message[]): unknown;
  runJob(job: unknown, options: { maxBytes: number; timeZone: string }): { lengths: Int32Array; failures: readonly unknown[] };
}
interface FactoryModule {
  WebLogFactory: new (options: { seed: number }) => { next(): unknown };
}

export interface WorkRound {
  readonly records: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
}

/** What the round printed: its last line of JSON. */
export function parseWorkRound(output: string): WorkRound {
  const line = output.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as Partial<WorkRound>;
  const { records, cpuSeconds, wallSeconds } = parsed;
  if (typeof records !== 'number' || typeof cpuSeconds !== 'number' || typeof wallSeconds !== 'number' || records <= 0)
    throw new Error(`a round of the work benchmark printed no figures: ${line}`);
  return { records, cpuSeconds, wallSeconds };
}

function main(): void {
  const [checkout, inputs, recordsText, secondsText] = process.argv.slice(2);
  if (checkout === undefined || inputs === undefined) throw new Error('usage: work-job CHECKOUT INPUTS_CHECKOUT RECORDS SECONDS');
  const { packJob, runJob } = loadBuilt<TransformJobModule>(
    path.join(checkout, 'apps/transformer/dist/transform/transform-job.js'),
    "the transformer's job",
  );
  const { WebLogFactory } = loadBuilt<FactoryModule>(
    path.join(inputs, 'apps/weblog-generator/dist/generation/web-log-factory.js'),
    'the generator',
  );
  const factory = new WebLogFactory({ seed: 7 });
  const messages: Message[] = Array.from({ length: Number(recordsText) }, (_, i) => ({
    offset: String(i),
    key: null,
    headers: {},
    value: Buffer.from(JSON.stringify(factory.next())),
  }));
  const source = { topic: 'input-topic', partition: 0 };
  const options = { maxBytes: 65536, timeZone: 'UTC' };
  const job = (id: number): number => {
    const reply = runJob(packJob(id, source, messages), options);
    if (reply.failures.length > 0) throw new Error(`a generated web log was refused: ${JSON.stringify(reply.failures[0])}`);
    return reply.lengths.length;
  };
  // Until the compiler has settled: the rounds measure the steady state, as a long run sees it.
  for (let i = 0; i < 100; i++) job(i);
  const seconds = Number(secondsText);
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let records = 0;
  for (let id = 0; Number(process.hrtime.bigint() - started) / 1e9 < seconds; id++) records += job(id);
  const used = process.cpuUsage(cpu);
  const round: WorkRound = {
    records,
    cpuSeconds: (used.user + used.system) / 1e6,
    wallSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  process.stdout.write(`${JSON.stringify(round)}\n`);
}

if (require.main === module) main();
