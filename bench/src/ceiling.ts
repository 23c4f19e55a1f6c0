// Ceiling: what this broker and machine can do at all, measured by Kafka's own producer and
// consumer performance tools on a topic like ours, with real web logs as the payloads.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { consumeRecords } from '@weblog/kafka-common/testing';
import { BenchContext, fillWithWebLogs, freshTopics } from './context';
import { parseConsumerPerformance, parseProducerPerformance, ratio, table } from './measure';
import { kafkaTool } from '@weblog/local-infra';

export interface CeilingResult {
  readonly records: number;
  readonly recordBytes: number;
  readonly generatorPerSecond: number;
  readonly producer: ReturnType<typeof parseProducerPerformance>;
  readonly consumer: ReturnType<typeof parseConsumerPerformance>;
}

/** Distinct payloads the producer tool picks from at random. */
const PAYLOADS = 10_000;

export async function benchCeiling(ctx: BenchContext, records: number): Promise<CeilingResult> {
  const topics = await freshTopics(ctx, 'bench-ceiling', ['generated', 'perf']);
  ctx.say(`our generator: ${records.toLocaleString('en-US')} web logs at full speed`);
  const generated = await fillWithWebLogs(ctx, topics.generated, records);
  const samples = await consumeRecords(ctx.kafka, topics.generated, PAYLOADS);
  const payloads = samples.map((r) => r.message.value?.toString('utf8') ?? '');
  const recordBytes = Math.round(payloads.reduce((sum, p) => sum + Buffer.byteLength(p), 0) / payloads.length);
  const payloadFile = path.join(mkdtempSync(path.join(tmpdir(), 'weblog-bench-')), 'payloads.txt');
  writeFileSync(payloadFile, payloads.join('\n'));

  ctx.say('Kafka ProducerPerformance, acks=all, same payloads');
  const produced = await kafkaTool(ctx.peers.kafka, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topics.perf,
    '--num-records',
    String(records),
    '--throughput',
    '-1',
    '--payload-file',
    payloadFile,
    '--producer-props',
    `bootstrap.servers=${ctx.brokers}`,
    'acks=all',
  ]);
  ctx.say('Kafka ConsumerPerformance');
  const consumed = await kafkaTool(ctx.peers.kafka, 'org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    ctx.brokers,
    '--topic',
    topics.perf,
    '--num-records',
    String(records),
    '--group',
    `${topics.perf}-group`,
    '--timeout',
    '120000',
  ]);
  return {
    records,
    recordBytes,
    generatorPerSecond: generated,
    producer: parseProducerPerformance(produced),
    consumer: parseConsumerPerformance(consumed),
  };
}

export function ceilingTable(result: CeilingResult): string {
  const mb = (perSecond: number) => Math.round((perSecond * result.recordBytes) / 2 ** 20);
  return (
    table(
      ['what', 'records', 'records/s', 'MiB/s', 'note'],
      [
        [
          'Kafka ProducerPerformance (acks=all)',
          result.producer.records,
          result.producer.perSecond,
          result.producer.mbPerSecond,
          `send latency p50 ${result.producer.p50Ms} ms, p99 ${result.producer.p99Ms} ms`,
        ],
        [
          'our generator (Faker, acks=all)',
          result.records,
          result.generatorPerSecond,
          mb(result.generatorPerSecond),
          `${ratio(result.generatorPerSecond, result.producer.perSecond)} of the producer tool`,
        ],
        [
          'Kafka ConsumerPerformance',
          result.consumer.records,
          result.consumer.perSecond,
          result.consumer.mbPerSecond,
          'fetch rate, group join excluded',
        ],
      ],
    ) +
    `\n\nRecord value: a real generated web log, ${result.recordBytes} bytes on average (${PAYLOADS.toLocaleString('en-US')} distinct payloads).`
  );
}
