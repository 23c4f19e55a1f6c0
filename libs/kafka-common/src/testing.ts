// Fixtures and helpers for tests. Not part of the runtime API.
import { randomUUID } from 'node:crypto';
import { Admin, Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { DecodeFailure, DecodeFailureReason } from './lib/codec/codec';
import { TransformedWebLog } from './lib/contracts/transformed-web-log.contract';
import { WebLog } from './lib/contracts/web-log.contract';
import { brokerList } from './lib/config/env';

/** A valid web log; override any field. */
export function aWebLog(overrides: Partial<WebLog> = {}): WebLog {
  return {
    event_id: randomUUID(),
    ip: '203.0.113.7',
    timestamp: '2026-11-23T10:15:30.123Z',
    method: 'GET',
    url: '/products/42?ref=home',
    status_code: 200,
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    ...overrides,
  };
}

/** The upper-cased form of `aWebLog`. */
export function aTransformedWebLog(overrides: Partial<TransformedWebLog> = {}): TransformedWebLog {
  const log = aWebLog();
  return {
    ...log,
    event_id: log.event_id.toUpperCase(),
    url: log.url.toUpperCase(),
    user_agent: log.user_agent.toUpperCase(),
    ...overrides,
  };
}

export interface BadRecord {
  readonly name: string;
  readonly value: Buffer | null;
  readonly reason: DecodeFailureReason;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const without = (field: keyof WebLog): Buffer => {
  const log: Partial<WebLog> = aWebLog();
  delete log[field];
  return json(log);
};

/** Records a WebLog consumer must reject, each with the reason it must give. */
export function badWebLogRecords(): BadRecord[] {
  const good = aWebLog();
  const goodText = JSON.stringify(good);
  return [
    { name: 'tombstone (null value)', value: null, reason: DecodeFailure.emptyValue },
    { name: 'empty value', value: Buffer.alloc(0), reason: DecodeFailure.emptyValue },
    { name: 'invalid UTF-8', value: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), reason: DecodeFailure.invalidUtf8 },
    { name: 'truncated JSON', value: Buffer.from(goodText.slice(0, goodText.length - 10)), reason: DecodeFailure.invalidJson },
    { name: 'not JSON', value: Buffer.from('GET /index.html 200'), reason: DecodeFailure.invalidJson },
    { name: 'JSON array', value: json([good]), reason: DecodeFailure.notAnObject },
    { name: 'JSON string', value: json('hello'), reason: DecodeFailure.notAnObject },
    { name: 'status_code as string', value: json({ ...good, status_code: '200' }), reason: DecodeFailure.contractViolation },
    { name: 'status_code out of range', value: json({ ...good, status_code: 700 }), reason: DecodeFailure.contractViolation },
    { name: 'status_code not an integer', value: json({ ...good, status_code: 200.5 }), reason: DecodeFailure.contractViolation },
    {
      name: 'huge number',
      value: Buffer.from(goodText.replace('"status_code":200', '"status_code":1e400')),
      reason: DecodeFailure.contractViolation,
    },
    { name: 'missing ip', value: without('ip'), reason: DecodeFailure.contractViolation },
    { name: 'missing event_id', value: without('event_id'), reason: DecodeFailure.contractViolation },
    { name: 'null url', value: json({ ...good, url: null }), reason: DecodeFailure.contractViolation },
    { name: 'empty user_agent', value: json({ ...good, user_agent: '' }), reason: DecodeFailure.contractViolation },
    { name: 'extra field', value: json({ ...good, admin: true }), reason: DecodeFailure.contractViolation },
    { name: 'bad ip', value: json({ ...good, ip: '999.1.1.1' }), reason: DecodeFailure.contractViolation },
    {
      name: 'timestamp with offset',
      value: json({ ...good, timestamp: '2026-11-23T10:15:30+09:00' }),
      reason: DecodeFailure.contractViolation,
    },
    { name: 'unknown method', value: json({ ...good, method: 'BREW' }), reason: DecodeFailure.contractViolation },
    { name: 'control characters in url', value: json({ ...good, url: '/a\r\nSet-Cookie: x=1' }), reason: DecodeFailure.contractViolation },
    { name: 'oversize user_agent', value: json({ ...good, user_agent: 'A'.repeat(5000) }), reason: DecodeFailure.contractViolation },
    { name: 'duplicate key', value: Buffer.from(goodText.replace('{', '{"status_code":500,')), reason: DecodeFailure.duplicateKey },
    { name: 'nested object as url', value: json({ ...good, url: { path: '/' } }), reason: DecodeFailure.contractViolation },
  ];
}

/** A unique name for a test's topics and groups, so tests never see each other's records. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
}

/** A kafkajs client for tests, from the environment the launcher exported. */
export function testKafka(clientId = 'test'): Kafka {
  const brokers = brokerList.parse(process.env['KAFKA_BROKERS']);
  return new Kafka({ clientId, brokers, logLevel: logLevel.ERROR });
}

export async function createTestTopics(admin: Admin, names: string[], partitions = 3): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  });
}

/**
 * Polls `probe` until it returns a value other than undefined: readiness by observation,
 * never by sleeping a fixed time.
 */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

/**
 * Reads a topic from the beginning until `count` records arrived (read committed by default).
 */
export async function consumeRecords(
  kafka: Kafka,
  topic: string,
  count: number,
  options: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
  });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: ({ topic: t, partition, message }) => {
        records.push({ topic: t, partition, message });
        if (records.length >= count) done();
        return Promise.resolve();
      },
    });
    if (count > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`only ${records.length} of ${count} records arrived on ${topic}`)),
          options.timeoutMs ?? 60000,
        );
      });
      await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
    }
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** The committed offset of every partition of a topic for a group, as numbers. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((result?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}
