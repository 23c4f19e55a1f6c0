// `npm start`: local Kafka and S3, the four services as separate processes, and a live view.
// Ctrl-C (or the end of --count / --duration) stops the generator first, lets the pipeline drain,
// flushes the archiver, audits S3 against the output topic and prints the final report.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseAuditReport, parseVerificationReport, RunReport } from '@weblog/kafka-common';
import { eventually, metricValue } from '@weblog/kafka-common/testing';
import { startLocalInfra } from './index';
import { ServiceProcess } from './supervisor';

const USAGE = `usage: npm start -- [--rate N] [--count N] [--duration SECONDS] [--mode at-least-once|exactly-once] [--seed N]
  --rate       records per second from the generator (default 200; 0 = as fast as possible)
  --count      stop after this many records (default: no limit)
  --duration   stop after this many seconds (default: until Ctrl-C)
  --mode       transformer delivery mode (default at-least-once)`;

const PORTS = { 'weblog-generator': 3001, transformer: 3002, 's3-archiver': 3003, verifier: 3004 } as const;
type App = keyof typeof PORTS;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '200' },
      count: { type: 'string', default: '0' },
      duration: { type: 'string' },
      mode: { type: 'string', default: 'at-least-once' },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    say(USAGE);
    return 0;
  }
  if (!['at-least-once', 'exactly-once'].includes(values.mode))
    throw new Error(`--mode must be at-least-once or exactly-once, got ${values.mode}`);

  const infra = await startLocalInfra({ buckets: ['weblog-archive'], log: (line) => say(`  ${line}`), handleSignals: false });
  say(`Kafka  ${infra.kafkaBrokers.join(',')}${infra.launched.kafka ? ' (launched here)' : ''}`);
  say(`S3     ${infra.s3.endpoint}${infra.launched.s3 ? ' (launched here), bucket weblog-archive' : ''}`);
  // Beside the project, not in the launcher's run directory, which is removed on stop.
  const logDir = path.join(process.cwd(), '.weblog', 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(logDir, { recursive: true });

  const services = new Map<App, ServiceProcess>();
  const start = async (app: App, env: Record<string, string>) => {
    const service = await ServiceProcess.start(
      app,
      { ...infra.env(), LOG_LEVEL: 'log', ...env },
      { port: PORTS[app], ownProcessGroup: true, logFile: path.join(logDir, `${app}.log`) },
    );
    services.set(app, service);
    return service;
  };
  let stopping = false;
  let stopRequested: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  // The terminal's Ctrl-C and the npm wrapper may both deliver it: every signal asks for the same
  // orderly stop, none ends the process abruptly.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopRequested());

  try {
    const consumers = await Promise.all([
      start('verifier', { VERIFIER_PROGRESS_INTERVAL_MS: '0', VERIFIER_AUDIT_ENABLED: 'true' }),
      start('s3-archiver', {}),
      start('transformer', { TRANSFORMER_MODE: values.mode }),
    ]);
    await Promise.all(consumers.map((s) => s.ready(120000)));
    const generator = await start('weblog-generator', {
      GENERATOR_RATE: values.rate,
      GENERATOR_COUNT: values.count,
      GENERATOR_EXIT_WHEN_DONE: values.count === '0' ? 'false' : 'true',
      ...(values.seed ? { GENERATOR_SEED: values.seed } : {}),
    });
    await generator.ready(120000);
    for (const [app, service] of services)
      say(`${app.padEnd(17)} ${service.url}  (/metrics, /health/ready${app === 'verifier' ? ', /report' : ''})`);
    say(`service logs in ${path.relative(process.cwd(), logDir)}`);
    say(
      `mode ${values.mode}, ${values.rate === '0' ? 'max' : values.rate} records/s${values.count !== '0' ? `, ${values.count} records` : ''}; Ctrl-C stops and prints the final report\n`,
    );

    const view = setInterval(() => {
      void liveLine(services).then((line) => {
        if (!stopping) say(line);
      });
    }, 2000);
    const duration = values.duration
      ? new Promise<void>((resolve) => setTimeout(resolve, Number(values.duration) * 1000))
      : new Promise<void>(() => undefined);
    await Promise.race([stopSignal, duration, generator.whenExited()]);
    stopping = true;
    clearInterval(view);

    say('\nstopping: generator first, then the pipeline drains');
    await generator.stop();
    const acknowledged = Number(
      /(\d+) records acknowledged/.exec(
        generator.logs
          .split('\n')
          .reverse()
          .find((l) => l.includes('records acknowledged')) ?? '',
      )?.[1] ?? 0,
    );
    const verifier = services.get('verifier') as ServiceProcess;
    await eventually(
      async () => {
        const report = parseVerificationReport((await verifier.get('/report')).text);
        const unique = report.runs.reduce((sum, r) => sum + r.unique, 0);
        return unique >= acknowledged ? true : undefined;
      },
      60000,
      250,
    ).catch(() => say('the verifier did not see every acknowledged record within 60 s'));
    await services.get('transformer')?.stop();
    say('flushing the archiver');
    await services.get('s3-archiver')?.stop();
    const audit = parseAuditReport(await (await fetch(`${verifier.url}/audit`, { method: 'POST' })).text());
    const report = parseVerificationReport((await verifier.get('/report')).text);
    await verifier.stop();
    say('\nfinal report');
    say(`  generator acknowledged ${acknowledged}; verifier verified ${report.verified}, invalid ${report.invalid}`);
    for (const run of report.runs) {
      say(
        `  run ${run.runId}: expected ${run.expected}, unique ${run.unique}, missing ${run.missing}, duplicates ${run.duplicates}, out of order ${run.outOfOrder}, latency p50 ${run.latencyMs.p50} ms p99 ${run.latencyMs.p99} ms`,
      );
    }
    say(
      `  S3 audit: ${audit.ok ? 'PASS' : 'FAIL'} — ${audit.archivedRecords} archived of ${audit.topicRecords} in the topic; missing ${audit.missingInS3}, duplicated ${audit.duplicatedInS3}, unexpected ${audit.unexpectedInS3}`,
    );
    const missing = report.runs.reduce((sum, r) => sum + r.missing, 0);
    return missing === 0 && audit.ok ? 0 : 1;
  } finally {
    await Promise.all([...services.values()].map((s) => s.stop()));
    await infra.stop();
    say('everything stopped');
  }
}

async function liveLine(services: Map<App, ServiceProcess>): Promise<string> {
  const scrape = async (app: App) =>
    (
      await services
        .get(app)
        ?.get('/metrics')
        .catch(() => undefined)
    )?.text ?? '';
  const [generator, transformer, archiver] = await Promise.all([scrape('weblog-generator'), scrape('transformer'), scrape('s3-archiver')]);
  const report = await services
    .get('verifier')
    ?.get('/report')
    .then((r) => parseVerificationReport(r.text))
    .catch(() => undefined);
  const runs = report?.runs ?? [];
  const sum = (pick: (r: RunReport) => number) => runs.reduce((total, r) => total + pick(r), 0);
  const latest = runs[runs.length - 1];
  const n = (name: string, text: string) => Math.round(metricValue(text, name));
  return [
    `generated ${n('weblog_generator_records_acknowledged_total', generator)}`,
    `transformed ${n('weblog_transformer_records_transformed_total', transformer)}`,
    `dead-lettered ${n('weblog_transformer_records_dead_lettered_total', transformer)}`,
    `archived ${n('weblog_archiver_records_archived_total', archiver)} in ${n('weblog_archiver_objects_uploaded_total', archiver)} objects`,
    `verified ${report?.verified ?? 0}`,
    `missing ${sum((r) => r.missing)}`,
    `duplicates ${sum((r) => r.duplicates)}`,
    `p50 ${latest?.latencyMs.p50 ?? 0} ms p99 ${latest?.latencyMs.p99 ?? 0} ms`,
  ].join(' | ');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
