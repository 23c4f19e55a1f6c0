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

/** The archiver configuration: the only place that reads the environment. */
export const archiverEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3003),
  ...s3EnvShape,
  ARCHIVER_GROUP_ID: z.string().min(1).default('weblog-s3-archiver'),
  /** Records per object. */
  ARCHIVER_FLUSH_SIZE: positiveInt(10, 1_000_000),
  /** A buffer is written at the latest this long after its first record arrived. */
  ARCHIVER_ROTATE_INTERVAL_MS: positiveInt(10000, 24 * 3600 * 1000),
  ARCHIVER_GZIP: booleanFlag(false),
  /** `offset`: <dir>/<topic>/partition=<p>/...; `time`: adds dt=YYYY-MM-DD/hour=HH of the first record. */
  ARCHIVER_KEY_LAYOUT: z.enum(['offset', 'time'], { error: 'must be offset or time' }).default('offset'),
  ARCHIVER_TOPICS_DIR: z
    .string()
    .regex(/^[A-Za-z0-9._\-/]*$/, { message: 'must be an S3 key prefix (letters, digits, . _ - /)' })
    .default('topics'),
  /** Each line carries topic, partition, offset, timestamp, key and headers besides the value. */
  ARCHIVER_RECORD_METADATA: booleanFlag(true),
  /** Cap on buffered bytes across all partitions; above it buffers are written early. */
  ARCHIVER_MAX_BUFFER_BYTES: positiveInt(64 * 1024 * 1024),
  ARCHIVER_MAX_VALUE_BYTES: positiveInt(DEFAULT_MAX_VALUE_BYTES, 16 * 1024 * 1024),
  ARCHIVER_CONCURRENCY: positiveInt(3, 64),
  /** Optional JSON file with Kafka Connect S3 sink settings; environment variables win. */
  ARCHIVER_CONFIG_FILE: z.string().min(1).optional(),
});

export type ArchiverEnv = z.infer<typeof archiverEnvSchema>;

/** Kafka Connect S3 sink setting names and the variables they stand for. */
export const CONNECT_SETTINGS: Readonly<Record<string, string>> = {
  'flush.size': 'ARCHIVER_FLUSH_SIZE',
  'rotate.interval.ms': 'ARCHIVER_ROTATE_INTERVAL_MS',
  's3.bucket.name': 'S3_BUCKET',
  's3.region': 'S3_REGION',
  'topics.dir': 'ARCHIVER_TOPICS_DIR',
};

/**
 * Reads a connector configuration (either the flat `config` object or the `{ name, config }`
 * document the Connect REST API takes) into environment-style settings.
 */
export function connectSettings(text: string, source: string): Env {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new ConfigError('ARCHIVER_CONFIG_FILE', `must name a JSON file (${source} is not valid JSON)`);
  }
  const root = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  const config = typeof root['config'] === 'object' && root['config'] !== null ? (root['config'] as Record<string, unknown>) : root;
  const env: Env = {};
  for (const [setting, variable] of Object.entries(CONNECT_SETTINGS)) {
    const value = config[setting];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[variable] = String(value);
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
