import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import {
  createKafka,
  createSafeProducer,
  createServiceLogger,
  ensureTopics,
  pipelineTopics,
  pipelineTopicSpecs,
} from '@weblog/kafka-common';
import { ArchiveStore, createS3Client } from '@weblog/s3-archive';
import { loadArchiverEnv } from './archiver.env';
import { combineFilters, parseFilter } from './replay/record-filter';
import { replayArchive } from './replay/replay-runner';
import { KafkaTargetLog } from './replay/target-log';

const USAGE = `usage: replay [--topic NAME] [--from ISO] [--to ISO] [--partitions 0,1] [--filter 'status_code>=500' ...] [--resume] [--checkpoint NAME]
Reads the archive of a topic (default: the output topic) from S3 and produces it to the reprocessed topic.
--resume continues an interrupted run of the same --checkpoint after the last record it produced.`;

/** The replay command: archived records back into Kafka. Configuration as for the archiver. */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      topic: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      partitions: { type: 'string' },
      filter: { type: 'string', multiple: true },
      resume: { type: 'boolean', default: false },
      checkpoint: { type: 'string', default: 'default' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const env = loadArchiverEnv();
  const logger = createServiceLogger('replay', env.LOG_LEVEL);
  Logger.overrideLogger(logger);
  const time = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) throw new Error(`--${name} must be an ISO-8601 time, got ${text}`);
    return date;
  };
  const keep = combineFilters((values.filter ?? []).map(parseFilter), time('from', values.from), time('to', values.to));
  const partitions = values.partitions?.split(',').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--partitions takes whole numbers, got ${p}`);
    return n;
  });
  const topics = pipelineTopics(env);
  const kafka = createKafka(env, 'replay', logger);
  const admin = kafka.admin();
  await admin.connect();
  const producer = createSafeProducer(kafka);
  try {
    await ensureTopics(admin, pipelineTopicSpecs(topics));
    await producer.connect();
    const summary = await replayArchive(new ArchiveStore(createS3Client(env), env.S3_BUCKET), producer, {
      sourceTopic: values.topic ?? topics.output.name,
      topicsDir: env.ARCHIVER_TOPICS_DIR,
      target: topics.reprocessed,
      targetPartitions: topics.partitions,
      targetLog: new KafkaTargetLog(kafka, admin, topics.reprocessed.name),
      ...(partitions ? { partitions } : {}),
      keep,
      checkpointId: values.checkpoint,
      resume: values.resume,
    });
    for (const problem of summary.problems)
      logger.warn(`skipped ${problem.key}${problem.line ? ` line ${problem.line}` : ''}: ${problem.reason}`, 'Replay');
    process.stdout.write(`${JSON.stringify({ replay: 'done', ...summary, problems: summary.problems.length })}\n`);
    return 0;
  } finally {
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`replay failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
