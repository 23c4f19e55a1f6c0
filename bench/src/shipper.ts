// Shipper benchmark: one large access log in the combined format, shipped to a topic of its own by
// each contender in turn on the same broker: our log shipper (each line parsed into a WebLog,
// exactly once), kcat -P (each line as it is, the ceiling of a plain producer) and Kafka Connect's
// FileStreamSource in standalone mode (what the original pipeline notes ship files with).
import { statSync } from 'node:fs';
import { consumeRecords, metricValue, uniqueName } from '@weblog/kafka-common/testing';
import { freePort, ServiceProcess } from '@weblog/local-infra';
import { accessLogFile } from './access-log';
import { BenchContext, Footprint, freshTopics, recordsIn, watch } from './context';
import { Rates, ratio, round, table } from './measure';
import { committedRecordCount, Measured, prepareShipperPeers, ShipperPeerArtifacts, startConnect, startKcatProducer } from './peers';

export interface ShipperRow extends Rates, Footprint {
  readonly contender: string;
  readonly guarantee: string;
  readonly lines: number;
  /** Records a read-committed consumer finds in the contender's topic afterwards. */
  readonly recordsInTopic: number;
  /** Lines per second of CPU time the process used. */
  readonly linesPerCpuSecond: number;
}

export interface ShipperResult {
  readonly lines: number;
  readonly fileBytes: number;
  readonly rows: ShipperRow[];
}

interface Topics {
  readonly output: string;
  readonly deadLetter: string;
}

interface Contender {
  readonly name: string;
  readonly guarantee: string;
  /** Starts the contender on its topics; `progress` counts the lines it has shipped so far. */
  start(topics: Topics): Promise<{ process: Measured; progress: () => Promise<number> }>;
  /** Checks after the run that the topics hold what this contender should have written. */
  check?(topics: Topics): Promise<void>;
}

/** Lines our shipper has committed: its own counter, since the topic's ends also count transaction markers. */
function shippedBy(shipper: ServiceProcess): () => Promise<number> {
  return async () => {
    const response = await fetch(`${shipper.url}/metrics`).catch(() => undefined);
    if (!response?.ok) return 0;
    return metricValue(await response.text(), 'weblog_log_shipper_lines_shipped_total');
  };
}

function contenders(ctx: BenchContext, peers: ShipperPeerArtifacts, file: string): Contender[] {
  return [
    {
      name: 'weblog log-shipper',
      guarantee: 'exactly-once',
      start: async ({ output, deadLetter }) => {
        const id = uniqueName('bench-shipper');
        const shipper = await ServiceProcess.start('log-shipper', {
          KAFKA_TOPIC_INPUT: output,
          KAFKA_TOPIC_DEAD_LETTER: deadLetter,
          SHIPPER_FILES: `combined:${file}`,
          SHIPPER_ID: id,
          SHIPPER_OFFSETS_TOPIC: `${id}-offsets`,
          SHIPPER_PROGRESS_INTERVAL_MS: '0',
        });
        return { process: shipper, progress: shippedBy(shipper) };
      },
      check: async ({ output, deadLetter }) => {
        // Every line a WebLog: parsed, not copied.
        const [sample] = await consumeRecords(ctx.kafka, output, 1);
        const value = JSON.parse(sample?.message.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
        for (const field of ['ip', 'timestamp', 'method', 'url', 'status_code', 'user_agent']) {
          if (!(field in value)) throw new Error(`the shipper's record has no ${field}: ${JSON.stringify(value)}`);
        }
        const rejected = (await ctx.admin.fetchTopicOffsets(deadLetter)).reduce((sum, p) => sum + Number(p.high), 0);
        if (rejected > 0) throw new Error(`the shipper dead-lettered ${rejected} lines of a file that is all valid`);
      },
    },
    {
      name: 'kcat -P',
      guarantee: 'at-least-once',
      start: ({ output }) =>
        Promise.resolve({
          process: startKcatProducer(peers, { brokers: ctx.brokers, topic: output, file }),
          progress: recordsIn(ctx, output),
        }),
    },
    {
      name: 'Kafka Connect FileStreamSource',
      guarantee: 'at-least-once',
      start: async ({ output }) => ({
        process: startConnect(peers, { brokers: ctx.brokers, topic: output, file, restPort: await freePort() }),
        progress: recordsIn(ctx, output),
      }),
    },
  ];
}

export async function benchShipper(ctx: BenchContext, lines: number): Promise<ShipperResult> {
  const peers = await prepareShipperPeers(ctx.peers.kafka);
  const file = await accessLogFile(lines, (line) => ctx.say(`  ${line}`));
  const fileBytes = statSync(file).size;
  ctx.say(`${lines.toLocaleString('en-US')} combined lines, ${round(fileBytes / 2 ** 20, 1)} MiB`);
  const rows: ShipperRow[] = [];
  for (const contender of contenders(ctx, peers, file)) {
    const topics = await freshTopics(ctx, 'bench-shipper', ['output', 'dead-letter']);
    const output = topics.output;
    ctx.say(`${contender.name}, ${contender.guarantee}`);
    const startedAt = process.hrtime.bigint();
    const { process: running, progress } = await contender.start({ output, deadLetter: topics['dead-letter'] });
    let measured: Awaited<ReturnType<typeof watch>>;
    try {
      measured = await watch(running, startedAt, progress, lines, 1_800_000);
    } finally {
      await running.stop();
    }
    const recordsInTopic = await committedRecordCount(peers, ctx.brokers, output);
    if (recordsInTopic < lines) throw new Error(`${contender.name} left ${recordsInTopic} of ${lines} lines in ${output}`);
    if (contender.guarantee === 'exactly-once' && recordsInTopic !== lines) {
      throw new Error(`${contender.name} wrote ${recordsInTopic} records for ${lines} lines`);
    }
    await contender.check?.({ output, deadLetter: topics['dead-letter'] });
    const { rates, footprint } = measured;
    rows.push({
      contender: contender.name,
      guarantee: contender.guarantee,
      lines,
      recordsInTopic,
      ...rates,
      ...footprint,
      linesPerCpuSecond: Math.round(lines / Math.max(footprint.cpuSeconds, 0.1)),
    });
    ctx.say(
      `  ${rates.sustainedPerSecond.toLocaleString('en-US')} lines/s sustained, ${footprint.peakRssMiB} MiB, ${footprint.cpuSeconds} CPU s`,
    );
  }
  return { lines, fileBytes, rows };
}

export function shipperTable(result: ShipperResult): string {
  const peer = (name: string) => result.rows.find((r) => r.contender === name);
  const kcat = peer('kcat -P');
  const connect = peer('Kafka Connect FileStreamSource');
  return (
    table(
      [
        'contender',
        'guarantee',
        'lines',
        'sustained lines/s',
        'vs kcat',
        'vs Connect',
        'CPU s',
        'lines per CPU-second',
        'vs kcat',
        'vs Connect',
        'start-up s',
        'total s',
        'peak RSS MiB',
      ],
      result.rows.map((r) => [
        r.contender,
        r.guarantee,
        r.lines,
        r.sustainedPerSecond,
        ratio(r.sustainedPerSecond, kcat?.sustainedPerSecond ?? 0),
        ratio(r.sustainedPerSecond, connect?.sustainedPerSecond ?? 0),
        r.cpuSeconds,
        r.linesPerCpuSecond,
        ratio(r.linesPerCpuSecond, kcat?.linesPerCpuSecond ?? 0),
        ratio(r.linesPerCpuSecond, connect?.linesPerCpuSecond ?? 0),
        r.startupSeconds,
        r.totalSeconds,
        r.peakRssMiB,
      ]),
    ) +
    `\n\nInput: one access log of ${result.lines.toLocaleString('en-US')} lines in nginx's combined format, ` +
    `${round(result.fileBytes / 2 ** 20, 1)} MiB (${Math.round(result.fileBytes / result.lines)} bytes a line). ` +
    "kcat and Connect send each line as it is, without a key; the shipper parses each into a WebLog keyed by the client's address."
  );
}
