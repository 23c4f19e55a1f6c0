import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  booleanFlag,
  ConfigError,
  DEFAULT_MAX_VALUE_BYTES,
  Env,
  httpEnvShape,
  kafkaEnvShape,
  parseEnv,
  positiveInt,
  s3EnvShape,
  serviceEnv,
} from '@weblog/kafka-common';
import { canonicalLocale, checkTimeZone, CONNECT_DEFAULT_ZERO_PAD_WIDTH, parsePathFormat, s3ClientEnvShape } from '@weblog/s3-archive';

/** The archiver configuration: the only place that reads the environment. */
/** Refines a string setting with a check that throws a readable reason. */
function checked(defaultValue: string, check: (value: string) => void) {
  return z
    .string()
    .default(defaultValue)
    .superRefine((value, ctx) => {
      try {
        check(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      }
    });
}

/** The archiver configuration: the only place that reads the environment. */
export const archiverEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3003),
  ...s3EnvShape,
  ...s3ClientEnvShape,
  /**
   * Run even when the start-up probe finds that the store ignores `If-None-Match: *`: a crash or a
   * second instance may then overwrite an object instead of learning it exists (at-least-once).
   */
  ARCHIVER_ALLOW_UNCONDITIONAL_WRITES: booleanFlag(false),
  ARCHIVER_GROUP_ID: z.string().min(1).default('weblog-s3-archiver'),
  /** Records per object; an object also ends at every multiple of it in offsets (its window). */
  ARCHIVER_FLUSH_SIZE: positiveInt(10, 1_000_000),
  /** Uploads in flight at once across all partitions: objects of different windows are written side by side. */
  ARCHIVER_MAX_UPLOADS_IN_FLIGHT: positiveInt(64, 256),
  /** A buffer is written at the latest this long (wall clock) after its first record arrived. */
  ARCHIVER_ROTATE_INTERVAL_MS: positiveInt(10000, 24 * 3600 * 1000),
  /**
   * Connect's `rotate.schedule.interval.ms`: buffers are also written at every multiple of this
   * interval of wall-clock time, counted from 00:00 in ARCHIVER_TIMEZONE (0: off).
   */
  ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS: z.coerce
    .number({ error: 'must be a whole number of milliseconds (0: off)' })
    .int({ error: 'must be a whole number of milliseconds (0: off)' })
    .min(0, { error: 'must be a whole number of milliseconds (0: off)' })
    .max(24 * 3600 * 1000, { error: 'must be at most a day' })
    .default(0),
  ARCHIVER_GZIP: booleanFlag(false),
  /** `offset`: <dir>/<topic>/partition=<p>/...; `time`: the time partition path of the records instead. */
  ARCHIVER_KEY_LAYOUT: z.enum(['offset', 'time'], { error: 'must be offset or time' }).default('offset'),
  /** `archiver`: 20-digit offsets, .jsonl; `connect`: the S3 sink's file names (.json, padded offsets). */
  ARCHIVER_FILE_NAMING: z.enum(['archiver', 'connect'], { error: 'must be archiver or connect' }).default('archiver'),
  ARCHIVER_OFFSET_ZERO_PAD_WIDTH: positiveInt(CONNECT_DEFAULT_ZERO_PAD_WIDTH, 20),
  /** Joda-Time pattern of the time partition path, as Connect's `path.format`. */
  ARCHIVER_PATH_FORMAT: checked("'dt'=YYYY-MM-dd/'hour'=HH", (value) => {
    parsePathFormat(value);
    if (value.startsWith('/') || value.endsWith('/') || value.includes('//')) throw new Error('must not start or end with / or hold //');
  }),
  ARCHIVER_PARTITION_DURATION_MS: positiveInt(3600000, 366 * 24 * 3600 * 1000),
  ARCHIVER_TIMEZONE: checked('UTC', checkTimeZone),
  ARCHIVER_LOCALE: checked('en', (value) => void canonicalLocale(value)),
  /**
   * Where a record's time comes from: `RecordField` (the web log's own time, ARCHIVER_TIMESTAMP_FIELD),
   * `Record` (the Kafka record timestamp) or `Wallclock` (arrival; a restart may file a record
   * under another partition, so exactly-once in S3 does not hold with it).
   */
  ARCHIVER_TIMESTAMP_EXTRACTOR: z
    .enum(['RecordField', 'Record', 'Wallclock'], { error: 'must be RecordField, Record or Wallclock' })
    .default('RecordField'),
  /**
   * `timestamp_utc` or `timestamp`: both name the web log's event time, and both are read from
   * `timestamp_utc`, its instant in UTC (`timestamp` as the producer wrote it may lack a zone).
   */
  ARCHIVER_TIMESTAMP_FIELD: z
    .enum(['timestamp_utc', 'timestamp'], { error: 'must be timestamp_utc or timestamp' })
    .default('timestamp_utc'),
  ARCHIVER_TOPICS_DIR: z
    .string()
    .regex(/^[A-Za-z0-9._\-/]*$/, { message: 'must be an S3 key prefix (letters, digits, . _ - /)' })
    .default('topics'),
  /** Each line carries topic, partition, offset, timestamp, key and headers besides the value. */
  ARCHIVER_RECORD_METADATA: booleanFlag(true),
  /** Server-side encryption of objects (empty: the bucket's default). */
  ARCHIVER_SSE: z.enum(['', 'AES256', 'aws:kms'], { error: 'must be AES256 or aws:kms' }).default(''),
  ARCHIVER_SSE_KMS_KEY_ID: z.string().default(''),
  /** Cap on buffered bytes across all partitions; above it buffers are written early. */
  ARCHIVER_MAX_BUFFER_BYTES: positiveInt(64 * 1024 * 1024),
  ARCHIVER_MAX_VALUE_BYTES: positiveInt(DEFAULT_MAX_VALUE_BYTES, 16 * 1024 * 1024),
  ARCHIVER_CONCURRENCY: positiveInt(3, 64),
  /** Optional Kafka Connect S3 sink configuration (JSON, or .properties); environment variables win. */
  ARCHIVER_CONFIG_FILE: z.string().min(1).optional(),
});

export type ArchiverEnv = z.infer<typeof archiverEnvSchema>;

const S3_SINK = 'io.confluent.connect.s3.S3SinkConnector';
const PARTITIONERS = 'io.confluent.connect.storage.partitioner.';
const JSON_FORMAT = 'io.confluent.connect.s3.format.json.JsonFormat';
const NONE = (): Env => ({});

function oneOf(key: string, value: string, allowed: readonly string[], why: string): void {
  if (!allowed.includes(value)) throw new ConfigError('ARCHIVER_CONFIG_FILE', `${key}=${value} is not supported: ${why}`);
}

/** A Connect interval: -1 (its "off") leaves the archiver's own setting; anything else is kept for validation. */
const interval =
  (variable: string) =>
  (value: string): Env =>
    value === '-1' ? {} : { [variable]: value };

/**
 * Kafka Connect S3 sink keys the archiver honours, each turned into the variables it stands for
 * (validated with them, so a bad value names the variable). Any key not here is refused.
 */
export const CONNECT_SETTINGS: Readonly<Record<string, (value: string) => Env>> = {
  'flush.size': (value) => ({ ARCHIVER_FLUSH_SIZE: value }),
  // Connect measures it in record time and only when the next record comes; here it is wall clock
  // since the first buffered record, so a quiet partition is still written and committed.
  'rotate.interval.ms': interval('ARCHIVER_ROTATE_INTERVAL_MS'),
  'rotate.schedule.interval.ms': interval('ARCHIVER_ROTATE_SCHEDULE_INTERVAL_MS'),
  's3.bucket.name': (value) => ({ S3_BUCKET: value }),
  's3.region': (value) => ({ S3_REGION: value }),
  'store.url': (value) => ({ S3_ENDPOINT: value }),
  'topics.dir': (value) => ({ ARCHIVER_TOPICS_DIR: value }),
  'partitioner.class': (value) => {
    switch (value.replace(PARTITIONERS, '')) {
      case 'DefaultPartitioner':
        return { ARCHIVER_KEY_LAYOUT: 'offset' };
      case 'TimeBasedPartitioner':
        return { ARCHIVER_KEY_LAYOUT: 'time' };
      // As in Connect, these two fix path.format and partition.duration.ms whatever the file says.
      case 'HourlyPartitioner':
        return {
          ARCHIVER_KEY_LAYOUT: 'time',
          ARCHIVER_PATH_FORMAT: "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
          ARCHIVER_PARTITION_DURATION_MS: '3600000',
        };
      case 'DailyPartitioner':
        return {
          ARCHIVER_KEY_LAYOUT: 'time',
          ARCHIVER_PATH_FORMAT: "'year'=YYYY/'month'=MM/'day'=dd",
          ARCHIVER_PARTITION_DURATION_MS: '86400000',
        };
      default:
        throw new ConfigError(
          'ARCHIVER_CONFIG_FILE',
          `partitioner.class=${value} is not supported: use DefaultPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner`,
        );
    }
  },
  'path.format': (value) => ({ ARCHIVER_PATH_FORMAT: value }),
  'partition.duration.ms': (value) => ({ ARCHIVER_PARTITION_DURATION_MS: value }),
  locale: (value) => ({ ARCHIVER_LOCALE: value }),
  timezone: (value) => ({ ARCHIVER_TIMEZONE: value }),
  'timestamp.extractor': (value) => ({ ARCHIVER_TIMESTAMP_EXTRACTOR: value }),
  'timestamp.field': (value) => ({ ARCHIVER_TIMESTAMP_FIELD: value }),
  'format.class': (value) => {
    oneOf('format.class', value, [JSON_FORMAT], 'the archiver writes JSON Lines only (io.confluent.connect.s3.format.json.JsonFormat)');
    return { ARCHIVER_RECORD_METADATA: 'false' };
  },
  's3.compression.type': (value) => {
    oneOf('s3.compression.type', value, ['none', 'gzip'], 'use none or gzip');
    return { ARCHIVER_GZIP: value === 'gzip' ? 'true' : 'false' };
  },
  'filename.offset.zero.pad.width': (value) => ({ ARCHIVER_OFFSET_ZERO_PAD_WIDTH: value }),
  // Every object is one PutObject of at most flush.size records, so there is no multipart upload
  // to size; the value is still checked against Connect's bounds so a typo does not pass.
  's3.part.size': (value) => {
    const size = Number(value);
    if (!Number.isInteger(size) || size < 5 * 1024 * 1024 || size > 2 ** 31 - 1)
      throw new ConfigError('ARCHIVER_CONFIG_FILE', `s3.part.size=${value} must be a whole number from 5242880 to 2147483647`);
    return {};
  },
  's3.ssea.name': (value) => ({ ARCHIVER_SSE: value }),
  's3.sse.kms.key.id': (value) => ({ ARCHIVER_SSE_KMS_KEY_ID: value }),

  // Connect framework keys every connector config carries.
  // The connector's name and task count: replicas in one consumer group (ARCHIVER_GROUP_ID) are
  // the archiver's scale-out, so neither changes anything.
  name: NONE,
  'tasks.max': NONE,
  // Any other connector class would mean the file was written for another sink.
  'connector.class': (value) => {
    oneOf('connector.class', value, [S3_SINK], `this file configures the S3 sink (${S3_SINK})`);
    return { ARCHIVER_FILE_NAMING: 'connect' };
  },
  'storage.class': (value) => {
    oneOf('storage.class', value, ['io.confluent.connect.s3.storage.S3Storage'], 'the archiver stores in S3');
    return {};
  },
  // The archiver archives one topic, the pipeline's output topic: a single name sets it.
  topics: (value) => {
    if (value.includes(','))
      throw new ConfigError('ARCHIVER_CONFIG_FILE', `topics=${value} is not supported: the archiver archives one topic, name only one`);
    return { KAFKA_TOPIC_OUTPUT: value.trim() };
  },
  // Keys are read as UTF-8 text whatever their converter; values must be schemaless JSON, which
  // is what the output contract is.
  'key.converter': NONE,
  'key.converter.schemas.enable': NONE,
  'value.converter': (value) => {
    oneOf(
      'value.converter',
      value,
      ['org.apache.kafka.connect.json.JsonConverter', 'org.apache.kafka.connect.storage.StringConverter'],
      'records are JSON TransformedWebLog values',
    );
    return {};
  },
  'value.converter.schemas.enable': (value) => {
    oneOf('value.converter.schemas.enable', value, ['false'], 'records are JSON without a schema envelope');
    return {};
  },
  // With schemaless JSON there is no schema to evolve or to generate Hive tables from.
  'schema.compatibility': (value) => {
    oneOf('schema.compatibility', value, ['NONE'], 'records have no schema to evolve');
    return {};
  },
  'schema.generator.class': NONE,
};

/** Keys refused with a reason of their own, beyond "not supported". */
const REFUSED_BECAUSE: Readonly<Record<string, string>> = {
  's3.sse.customer.key': 'SSE-C would need the key on every read by replay, the verifier and the lake',
  'topics.regex': 'the archiver archives one topic (KAFKA_TOPIC_OUTPUT)',
  'partition.field.name': 'field partitioning is not supported; use a time or the default partitioner',
};

function parseProperties(text: string): Record<string, string> {
  const config: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match) config[match[1] ?? ''] = match[2] ?? '';
  }
  return config;
}

/**
 * Reads a connector configuration (a `.properties` file, the flat `config` JSON object or the
 * `{ name, config }` document the Connect REST API takes) into environment-style settings.
 * Every key is honoured or refused: a key silently ignored is a setting the user believes in.
 */
export function connectSettings(text: string, source: string): Env {
  let config: Record<string, unknown>;
  if (source.endsWith('.properties')) config = parseProperties(text);
  else {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new ConfigError('ARCHIVER_CONFIG_FILE', `must name a JSON file (${source} is not valid JSON) or a .properties file`);
    }
    const root = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
    config = typeof root['config'] === 'object' && root['config'] !== null ? { ...(root['config'] as Record<string, unknown>) } : root;
    if (config !== root && typeof root['name'] === 'string') config['name'] ??= root['name'];
  }
  const refused = Object.keys(config).filter((key) => !(key in CONNECT_SETTINGS));
  if (refused.length > 0) {
    const reasons = refused.map((key) => (REFUSED_BECAUSE[key] ? `${key} (${REFUSED_BECAUSE[key]})` : key));
    throw new ConfigError('ARCHIVER_CONFIG_FILE', `holds Kafka Connect keys the archiver does not support: ${reasons.join(', ')}`);
  }
  const env: Env = {};
  // partitioner.class last, so the Hourly and Daily partitioners override path.format as in Connect.
  const keys = Object.keys(config).sort((a, b) => Number(a === 'partitioner.class') - Number(b === 'partitioner.class'));
  for (const key of keys) {
    const value = config[key];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      throw new ConfigError('ARCHIVER_CONFIG_FILE', `${key} must be a string, number or boolean`);
    Object.assign(env, CONNECT_SETTINGS[key]?.(String(value).trim()));
  }
  return env;
}

/** Connector settings from the file, overridden by the environment, then validated. */
export function resolveArchiverEnv(env: Env, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): ArchiverEnv {
  const file = env['ARCHIVER_CONFIG_FILE'];
  let fromFile: Env = {};
  if (file) {
    let text: string;
    try {
      text = readFile(file);
    } catch {
      throw new ConfigError('ARCHIVER_CONFIG_FILE', `must name a readable file (cannot read ${file})`);
    }
    fromFile = connectSettings(text, file);
  }
  return parseEnv(archiverEnvSchema, { ...fromFile, ...env });
}

export function loadArchiverEnv(): ArchiverEnv {
  try {
    return resolveArchiverEnv(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
