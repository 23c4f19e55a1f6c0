// `npm run reliability`: every fault scenario against a Kafka broker and an S3 server of its own,
// with a JSON file of the results and the table in RELIABILITY.md.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DeliveryMode } from './fleet';
import { inMode, PROFILES, Scenario, SCENARIOS, scenariosOf } from './scenarios';
import { describeMachine, privateInfra, resultsTable, SUITE_KAFKA_NODES, SuiteClients, SuiteRun, writeResults } from './suite';

const MODES: readonly DeliveryMode[] = ['at-least-once', 'exactly-once'];

const USAGE = `usage: npm run reliability -- [--profile long|short] [--scenario NAME]... [--mode at-least-once|exactly-once] [--brokers 3|1] [--seed N] [--out FILE]
  --profile   long (default): the full scenarios; short: the ones npm test runs, smaller
  --scenario  run only these, in either profile (default: all of the profile's):
              ${SCENARIOS.map((s) => `${s.name}${s.profiles ? ` (${s.profiles.join(', ')} only)` : ''}`).join(', ')}
  --mode      the transformer's guarantee in every scenario run (default: each scenario's own,
              mostly exactly-once); scenarios whose fault belongs to their own mode (the
              SIGKILL pair, transformer-scale-exactly-once, zombie-transformer,
              archiver-scale-in) are left out, or refused when named
  --brokers   Kafka nodes (default 3, a KRaft cluster at RF 3 / min ISR 2); 1: one broker, where
              the cluster scenarios cannot run
  --seed      seed of the random kill moments (default 1)
  --out       results file (default reliability/results/<profile>.json, <profile>-<mode>.json
              with --mode); a full long run also
              rewrites the table in RELIABILITY.md (not with --mode)`;

const repositoryRoot = path.resolve(__dirname, '../..');
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'long' },
      scenario: { type: 'string', multiple: true },
      seed: { type: 'string', default: '1' },
      brokers: { type: 'string', default: String(SUITE_KAFKA_NODES) },
      mode: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    say(USAGE);
    return 0;
  }
  const profile = PROFILES[values.profile as keyof typeof PROFILES];
  if (!profile) throw new Error(`--profile must be long or short, got ${values.profile}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got ${values.seed}`);
  const unknown = (values.scenario ?? []).filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const mode = values.mode as DeliveryMode | undefined;
  if (mode !== undefined && !MODES.includes(mode)) throw new Error(`--mode must be ${MODES.join(' or ')}, got ${values.mode}`);
  const named = values.scenario ? SCENARIOS.filter((s) => values.scenario?.includes(s.name)) : scenariosOf(profile.name);
  const fixed = named.filter((s) => inMode(s, mode) === undefined);
  if (values.scenario && fixed.length > 0)
    throw new Error(`--mode ${mode}: ${fixed.map((s) => s.name).join(', ')} run only in their own mode`);
  if (fixed.length > 0) say(`--mode ${mode}: left out, as they run only in their own mode: ${fixed.map((s) => s.name).join(', ')}`);
  const selected = named.map((s) => inMode(s, mode)).filter((s): s is Scenario => s !== undefined);

  const brokers = Number(values.brokers);
  if (brokers !== 1 && brokers !== 3) throw new Error(`--brokers must be 3 or 1, got ${values.brokers}`);
  const infra = await privateInfra((line) => say(`  ${line}`), brokers);
  // Ctrl-C: the servers stop, and exiting kills the services of the scenario that was running.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`\n${signal}: stopping`);
      void infra.stop().finally(() => process.exit(130));
    });
  }
  const clients = new SuiteClients(infra);
  const run: SuiteRun = { profile: profile.name, seed, startedAt: new Date().toISOString(), machine: describeMachine(), scenarios: [] };
  try {
    await clients.connect();
    for (const [i, scenario] of selected.entries()) {
      say(`\n${scenario.name} (${scenario.mode}): ${scenario.title}`);
      const result = await clients.run(scenario, profile, seed + i, say);
      run.scenarios.push(result);
      say(
        `  ${result.failures.length === 0 ? 'pass' : 'FAIL'}: generated ${result.generated}, verified ${result.verified}, missing ${result.missing}, ` +
          `duplicated output ${result.duplicatedOutput} / S3 ${result.duplicatedInS3}, dead-lettered ${result.deadLettered}, ` +
          `recovery ${result.recoverySeconds ?? 'n/a'} s, ${result.seconds} s`,
      );
      for (const failure of result.failures) say(`  - ${failure}`);
    }
  } finally {
    await clients.disconnect();
    await infra.stop();
  }

  const out = path.resolve(
    values.out ?? path.join(repositoryRoot, 'reliability', 'results', `${profile.name}${mode ? `-${mode}` : ''}.json`),
  );
  writeResults(out, run);
  const table = resultsTable(run);
  say(`\n${table}\n\nresults in ${path.relative(process.cwd(), out)}`);
  if (profile.name === 'long' && mode === undefined && selected.length === scenariosOf('long').length && values.out === undefined) {
    const doc = path.join(repositoryRoot, 'RELIABILITY.md');
    const text = readFileSync(doc, 'utf8');
    const updated = text.replace(
      /(<!-- results:begin -->\n)[\s\S]*?(\n<!-- results:end -->)/,
      `$1${table}\n\nRun of ${run.startedAt}, seed ${seed}, on ${run.machine.cpus} CPUs, ${run.machine.memoryGiB} GiB, Node.js ${run.machine.node}.$2`,
    );
    writeFileSync(doc, updated);
    say('RELIABILITY.md table updated');
  }
  return run.scenarios.every((s) => s.failures.length === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`reliability suite failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
