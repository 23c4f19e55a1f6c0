// Sustained throughput of one service, measured as a whole process against real Kafka and S3:
// the input topic is pre-filled with real generated web logs, then the service starts and the
// clock runs until its consumer group has committed the end of every partition.
//
//   node bench/dist/throughput.js transformer --mode exactly-once --records 200000
//   node bench/dist/throughput.js archiver --flush-size 10 --records 100000
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { caughtUp, eventually, isolatedTopics, ServiceProcess, testKafka, uniqueName } from '@weblog/kafka-common/testing';
import { startLocalInfra } from '@weblog/local-infra';

function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      records: { type: 'string', default: '100000' },
      mode: { type: 'string', default: 'at-least-once' },
      'flush-size': { type: 'string', default: '10' },
    },
  });
  const target = positionals[0];
  if (target !== 'transformer' && target !== 'archiver')
    throw new Error('usage: throughput.js transformer|archiver [--records N] [--mode M] [--flush-size N]');
  const records = Number(values.records);
  const infra = await startLocalInfra({ buckets: ['weblog-archive'], log: () => undefined });
  Object.assign(process.env, infra.env());
  try {
    const topics = isolatedTopics(`bench-${target}`);
    const id = uniqueName('bench');
    const fill = await ServiceProcess.start('weblog-generator', {
      ...topics.env,
      GENERATOR_COUNT: String(records),
      GENERATOR_RATE: '0',
      GENERATOR_BATCH_SIZE: '2000',
      GENERATOR_SEED: '7',
      GENERATOR_EXIT_WHEN_DONE: 'true',
    });
    if ((await fill.waitForExit(600000)) !== 0) throw new Error(`pre-fill failed:\n${fill.logs.slice(-2000)}`);
    if (target === 'archiver') {
      // The archiver reads the output topic: the transformer fills it first, off the clock.
      const upper = await ServiceProcess.start('transformer', { ...topics.env, TRANSFORMER_GROUP_ID: `${id}-fill` });
      const kafka = testKafka('bench');
      const admin = kafka.admin();
      await admin.connect();
      await eventually(() => caughtUp(admin, `${id}-fill`, topics.input), 600000, 500);
      await admin.disconnect();
      await upper.stop();
    }
    const group = `${id}-${target}`;
    const env =
      target === 'transformer'
        ? { ...topics.env, TRANSFORMER_MODE: values.mode, TRANSFORMER_GROUP_ID: group, TRANSFORMER_TRANSACTIONAL_ID_PREFIX: id }
        : {
            ...topics.env,
            ARCHIVER_GROUP_ID: group,
            ARCHIVER_FLUSH_SIZE: values['flush-size'],
            // The tail of each partition is written by time; keep that wait short so it is not measured.
            ARCHIVER_ROTATE_INTERVAL_MS: '1000',
            ARCHIVER_TOPICS_DIR: id,
            S3_BUCKET: 'weblog-archive',
          };
    const measured = target === 'transformer' ? topics.input : topics.output;
    const kafka = testKafka('bench');
    const admin = kafka.admin();
    await admin.connect();
    const service = await ServiceProcess.start(target === 'transformer' ? 'transformer' : 's3-archiver', env);
    // The clock starts when the service is ready: process boot is not throughput.
    await service.ready();
    const started = process.hrtime.bigint();
    await eventually(() => caughtUp(admin, group, measured), 1800000, 100);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rss = peakRssMiB(service.pid);
    await service.stop();
    await admin.disconnect();
    const label = target === 'transformer' ? `transformer ${values.mode}` : `archiver flush size ${values['flush-size']}`;
    process.stdout.write(
      `${JSON.stringify({ benchmark: label, records, seconds: Math.round(seconds * 100) / 100, recordsPerSecond: Math.round(records / seconds), peakRssMiB: rss })}\n`,
    );
  } finally {
    await infra.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
