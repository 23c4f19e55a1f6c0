import { readFileSync } from 'node:fs';
import { Kafka, Producer } from 'kafkajs';
import {
  DeadLetterHeaders,
  decode,
  deriveEventId,
  headerNumber,
  headerText,
  PipelineHeaders,
  TransformedWebLogContract,
  WebLogContract,
} from '@weblog/kafka-common';
import {
  badWebLogRecords,
  caughtUp,
  consumeAll,
  consumeRecords,
  consumeUntil,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  produceJson,
  realWorldWebLogs,
  testKafka,
  uniqueName,
  webLogRun,
} from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';

const TRANSFORMED = 'weblog_transformer_records_transformed_total';
const BATCHES = 'weblog_transformer_transform_batches_total';
const THREADS_RUNNING = 'weblog_transformer_transform_threads_running';

describe('transformer against real Kafka', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let producer: Producer;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('transformer-e2e');
    admin = highWatermarkAdmin(kafka);
    producer = kafka.producer({ idempotent: true });
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  async function startTransformer(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start('transformer', env);
    services.push(service);
    await service.ready();
    return service;
  }

  it("runs with Node's own options as the launcher defines them for it (a 32 MiB young generation)", async () => {
    const topics = isolatedTopics('transformer-node-options');
    const transformer = await startTransformer({ ...topics.env, TRANSFORMER_GROUP_ID: uniqueName('transformer') });
    const args = readFileSync(`/proc/${transformer.pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((arg) => arg.length > 0);
    expect(args.slice(1, -1)).toEqual(['--max-semi-space-size=32']);
    expect(args.at(-1)).toMatch(/apps\/transformer\/dist\/main\.js$/);
  });

  it('upper-cases every record, keeps keys, headers and per-key order, and commits the end of the input', async () => {
    const topics = isolatedTopics('transformer');
    const groupId = uniqueName('transformer');
    const run = webLogRun(5000);
    await startTransformer({ ...topics.env, TRANSFORMER_GROUP_ID: groupId });
    await produceJson(producer, topics.input, run, { batchSize: 500 });
    const output = await consumeRecords(kafka, topics.output, run.length);
    expect(output).toHaveLength(run.length);
    const lastSeqByKey = new Map<string, number>();
    const byEventId = new Map(run.map((r) => [r.value.event_id.toUpperCase(), r]));
    for (const { message } of output) {
      const decoded = decode(TransformedWebLogContract, message.value);
      if (!decoded.ok) throw new Error(decoded.detail);
      const source = byEventId.get(decoded.value.event_id);
      expect(source).toBeDefined();
      expect(decoded.value.url).toBe(source?.value.url.toUpperCase());
      expect(message.key?.toString()).toBe(source?.key);
      expect(headerText(message.headers, PipelineHeaders.runId)).toBe('test-run');
      expect(headerNumber(message.headers, PipelineHeaders.transformedAt)).toBeGreaterThan(0);
      const seq = headerNumber(message.headers, PipelineHeaders.sequence) ?? 0;
      const key = message.key?.toString() ?? '';
      expect(seq).toBeGreaterThan(lastSeqByKey.get(key) ?? 0);
      lastSeqByKey.set(key, seq);
    }
    await eventually(() => caughtUp(admin, groupId, topics.input));
  });

  it('carries records as other producers write them (no key, no event_id, offsets, extras) through, upper-cased', async () => {
    const topics = isolatedTopics('transformer-real-world');
    const groupId = uniqueName('transformer');
    const records = realWorldWebLogs();
    await startTransformer({ ...topics.env, TRANSFORMER_GROUP_ID: groupId });
    await producer.send({
      topic: topics.input,
      acks: -1,
      messages: records.map((r) => ({ key: null, value: JSON.stringify(r.value), headers: { kind: r.name } })),
    });
    const output = await consumeRecords(kafka, topics.output, records.length);
    const inputs = await consumeAll(kafka, topics.input);
    const byKind = new Map(output.map((o) => [headerText(o.message.headers, 'kind'), o.message]));
    for (const record of records) {
      const message = byKind.get(record.name);
      const decoded = decode(TransformedWebLogContract, message?.value);
      if (!decoded.ok) throw new Error(`${record.name}: ${decoded.detail}`);
      expect(message?.key).toBeNull();
      const value = decoded.value as Record<string, unknown>;
      for (const [field, original] of Object.entries(record.value)) {
        expect([record.name, field, value[field]]).toEqual([
          record.name,
          field,
          typeof original === 'string' ? original.toUpperCase() : original,
        ]);
      }
      expect([record.name, value['timestamp_utc']]).toEqual([record.name, record.utc]);
      if (record.value['event_id'] === undefined) {
        const input = inputs.find((i) => headerText(i.message.headers, 'kind') === record.name);
        const position = { topic: topics.input, partition: input?.partition ?? -1, offset: input?.message.offset ?? '' };
        expect(decoded.value.event_id).toBe(deriveEventId(position, input?.message.value ?? Buffer.alloc(0)).toUpperCase());
      }
    }
    expect(await consumeAll(kafka, topics.deadLetter)).toEqual([]);
    await eventually(() => caughtUp(admin, groupId, topics.input));
  });

  // Through a transform thread (every batch, however small), with none (as in a pod held to one
  // core), and with a thread that no batch is big enough for; the metric shows which path each took.
  it.each([
    { threads: '1', minBatch: '1', path: 'thread' },
    { threads: '0', minBatch: '1', path: 'main' },
    { threads: '1', minBatch: '1000000', path: 'main' },
  ])(
    'dead-letters every kind of bad record with its reason while the good records around them flow ($threads transform threads, batches of $minBatch or more through one: $path)',
    async ({ threads, minBatch, path }) => {
      const topics = isolatedTopics('transformer-dlq');
      const groupId = uniqueName('transformer');
      const bad = badWebLogRecords();
      const good = webLogRun(bad.length * 2);
      const transformer = await startTransformer({
        ...topics.env,
        TRANSFORMER_GROUP_ID: groupId,
        TRANSFORMER_THREADS: threads,
        TRANSFORMER_THREAD_MIN_BATCH: minBatch,
      });
      // Good, bad, good on one key, so a stuck partition would hold back the good record after the bad one.
      const messages = bad.flatMap((b, i) => [
        { key: 'mixed', value: JSON.stringify(good[2 * i]?.value) },
        { key: 'mixed', value: b.value, headers: { 'bad-kind': b.name } },
        { key: 'mixed', value: JSON.stringify(good[2 * i + 1]?.value) },
      ]);
      // One request each: the corpus has a record near the broker's size limit, which fits no batch with others.
      for (const message of messages) await producer.send({ topic: topics.input, acks: -1, messages: [message] });
      const letters = await consumeRecords(kafka, topics.deadLetter, bad.length);
      const reasons = new Map(letters.map((l) => [headerText(l.message.headers, 'bad-kind'), l.message]));
      for (const kind of bad) {
        const letter = reasons.get(kind.name);
        expect(letter).toBeDefined();
        expect(headerText(letter?.headers, DeadLetterHeaders.reason)).toBe(kind.reason);
        expect(headerText(letter?.headers, DeadLetterHeaders.sourceTopic)).toBe(topics.input);
        expect(headerText(letter?.headers, DeadLetterHeaders.consumer)).toBe('transformer');
        expect(headerText(letter?.headers, DeadLetterHeaders.detail)?.length).toBeGreaterThan(0);
        // The value is the original bytes, unchanged (a tombstone stays a tombstone).
        if (kind.value === null) expect(letter?.value).toBeNull();
        else expect(Buffer.compare(letter?.value ?? Buffer.alloc(1, 1), kind.value)).toBe(0);
      }
      const output = await consumeRecords(kafka, topics.output, good.length);
      expect(output).toHaveLength(good.length);
      await eventually(() => caughtUp(admin, groupId, topics.input));
      const metrics = (await transformer.get('/metrics')).text;
      const other = path === 'thread' ? 'main' : 'thread';
      expect(metricValue(metrics, BATCHES, { path })).toBeGreaterThan(0);
      expect(metricValue(metrics, BATCHES, { path: other })).toBe(0);
      // A thread starts with the first batch that needs one.
      expect(metricValue(metrics, THREADS_RUNNING)).toBe(path === 'thread' ? 1 : 0);
    },
  );

  it.each(['at-least-once', 'exactly-once'])(
    'loses nothing when SIGKILLed in the middle of 50,000 records and restarted, and a re-read record without an id keeps its derived id (%s)',
    async (mode) => {
      const topics = isolatedTopics(`transformer-crash-${mode}`);
      const groupId = uniqueName('transformer');
      const env = { ...topics.env, TRANSFORMER_GROUP_ID: groupId, TRANSFORMER_MODE: mode, TRANSFORMER_TRANSACTIONAL_ID_PREFIX: groupId };
      // Every other record as a plain producer sends it: no key, no event id.
      const run = webLogRun(50000, 500).map((r, i) => {
        if (i % 2 === 0) return r;
        const { event_id: _id, ...sixFields } = r.value;
        return { ...r, key: null, value: sixFields };
      });
      const first = await startTransformer(env);
      const producing = produceJson(producer, topics.input, run, { batchSize: 500, perSecond: 5000 });
      await eventually(async () => (metricValue((await first.get('/metrics')).text, TRANSFORMED) >= 15000 ? true : undefined));
      await first.kill();
      await startTransformer(env);
      await producing;
      await eventually(() => caughtUp(admin, groupId, topics.input), 120000);
      // The id each record must carry: its own, or the one derived from where it lies in the input.
      const expected = new Set(
        (await consumeAll(kafka, topics.input)).map(({ partition, message }) => {
          const decoded = decode(WebLogContract, message.value);
          if (!decoded.ok || !message.value) throw new Error('the test wrote an invalid record');
          return (
            decoded.value.event_id ?? deriveEventId({ topic: topics.input, partition, offset: message.offset }, message.value)
          ).toUpperCase();
        }),
      );
      expect(expected.size).toBe(run.length);
      const seen = new Map<string, number>();
      await consumeUntil(kafka, topics.output, ({ message }) => {
        const decoded = decode(TransformedWebLogContract, message.value);
        if (!decoded.ok) throw new Error(decoded.detail);
        seen.set(decoded.value.event_id, (seen.get(decoded.value.event_id) ?? 0) + 1);
        return [...expected].length === seen.size;
      });
      const missing = [...expected].filter((id) => !seen.has(id));
      const duplicates = [...seen.values()].filter((n) => n > 1).length;
      expect(missing).toEqual([]);
      if (mode === 'exactly-once') {
        // Read committed, to the end: the aborted attempts of the killed instance are invisible.
        const all = await consumeAll(kafka, topics.output);
        expect(duplicates).toBe(0);
        expect(all).toHaveLength(run.length);
      }
    },
    300000,
  );
});
