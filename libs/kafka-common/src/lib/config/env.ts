import { z } from 'zod';
import {
  DEAD_LETTER_TOPIC_DEFAULT,
  DEAD_LETTER_TOPIC_VARIABLE,
  DEFAULT_PARTITIONS,
  InputTopic,
  OutputTopic,
  ReprocessedTopic,
  TopicDefinition,
} from '../contracts/topics';

/** A configuration error: one line naming the variable and what it expects. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expectation: string,
  ) {
    super(`Invalid configuration: ${variable} ${expectation}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

/** `host:port[,host:port...]`, e.g. `127.0.0.1:9092`. */
export const brokerList = z
  .string({ error: 'is required: a comma-separated list of host:port' })
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  )
  .refine((list) => list.length > 0 && list.every((broker) => hostPort.test(broker) && portNumber(broker) <= 65535), {
    message: 'must be a comma-separated list of host:port (for example 127.0.0.1:9092)',
  });

function portNumber(hostAndPort: string): number {
  return Number(hostAndPort.slice(hostAndPort.lastIndexOf(':') + 1));
}

export function port(defaultPort: number) {
  return z.coerce
    .number({ error: 'must be a whole number from 1 to 65535' })
    .int({ error: 'must be a whole number from 1 to 65535' })
    .min(1, { error: 'must be a whole number from 1 to 65535' })
    .max(65535, { error: 'must be a whole number from 1 to 65535' })
    .default(defaultPort);
}

export function positiveInt(defaultValue: number, max = Number.MAX_SAFE_INTEGER) {
  return wholeNumber(defaultValue, 1, max);
}

/** A whole number from `min` to `max`. */
export function wholeNumber(defaultValue: number, min: number, max = Number.MAX_SAFE_INTEGER) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(min, { error: message })
    .max(max, { error: message })
    .default(defaultValue);
}

export function nonNegativeNumber(defaultValue: number) {
  const message = 'must be a number of 0 or more';
  return z.coerce.number({ error: message }).min(0, { error: message }).default(defaultValue);
}

/** A duration in whole milliseconds, 0 or more. */
export function nonNegativeMilliseconds(defaultValue: number) {
  return z.coerce
    .number({ error: 'must be a whole number of milliseconds' })
    .int({ error: 'must be a whole number of milliseconds' })
    .min(0, { error: 'must be 0 or more' })
    .default(defaultValue);
}

export function booleanFlag(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .transform((value) => value === 'true' || value === '1' || value === 'yes')
    .default(defaultValue);
}

const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, { message: 'must be a Kafka topic name (letters, digits, . _ -; at most 249)' });

function topicVariable(definition: Pick<TopicDefinition<unknown>, 'defaultName' | 'nameVariable'>) {
  return { [definition.nameVariable]: topicName.default(definition.defaultName) };
}

/** Kafka connection, identity, security and topic layout: every service extends this. */
export const kafkaEnvShape = {
  KAFKA_BROKERS: brokerList,
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_SSL: booleanFlag(false),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'], { error: 'must be plain, scram-sha-256 or scram-sha-512' })
    .optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** SASL PLAIN sends the password as it is: refused without TLS unless this says it is accepted. */
  KAFKA_SASL_PLAIN_WITHOUT_TLS: booleanFlag(false),
  KAFKA_TOPIC_PARTITIONS: positiveInt(DEFAULT_PARTITIONS, 10000),
  KAFKA_TOPIC_REPLICATION_FACTOR: positiveInt(1, 32),
  /** Unset: the broker's min.insync.replicas applies to the topics a service creates. */
  KAFKA_TOPIC_MIN_INSYNC_REPLICAS: z.coerce
    .number({ error: 'must be a whole number from 1 to 32' })
    .int({ error: 'must be a whole number from 1 to 32' })
    .min(1, { error: 'must be a whole number from 1 to 32' })
    .max(32, { error: 'must be a whole number from 1 to 32' })
    .optional(),
  ...topicVariable(InputTopic),
  ...topicVariable(OutputTopic),
  ...topicVariable(ReprocessedTopic),
  ...topicVariable({ defaultName: DEAD_LETTER_TOPIC_DEFAULT, nameVariable: DEAD_LETTER_TOPIC_VARIABLE }),
} as const;

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const hostLabel = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The address the HTTP server binds: an IPv4 or IPv6 address, or a host name. */
export const bindAddress = z
  .string()
  // All digits and dots is an IPv4 address or nothing: 256.1.1.1 is no host name.
  .refine((value) => (/^[\d.]+$/.test(value) ? ipv4.test(value) : hostLabel.test(value) || z.ipv6().safeParse(value).success), {
    message: 'must be an IP address or a host name to bind, such as 127.0.0.1, :: or 0.0.0.0',
  });

/** HTTP side of every service: health and metrics. */
export function httpEnvShape(defaultPort: number) {
  return {
    PORT: port(defaultPort),
    /** Unset: every interface, as Node binds by default (IPv6 and IPv4 where the host has both). */
    HTTP_HOST: bindAddress.optional(),
    LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose'], { error: 'must be error, warn, log, debug or verbose' }).default('log'),
  } as const;
}

/** S3 location; credentials come from the AWS SDK's default chain, never from here. */
export const s3EnvShape = {
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)' })
    .default('weblog-archive'),
  /** Unset: AWS_REGION (what EKS Pod Identity and IRSA inject), then us-east-1. */
  S3_REGION: z.string().min(1).optional(),
  AWS_REGION: z.string().min(1).optional(),
  S3_ENDPOINT: z.url({ error: 'must be a URL such as http://127.0.0.1:9000' }).optional(),
  S3_FORCE_PATH_STYLE: booleanFlag(false),
} as const;

/**
 * Parses the environment against a schema. The first problem becomes a ConfigError naming the
 * variable, so a service stops with one line instead of a stack trace.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? '(environment)');
  const raw = env[variable];
  const got = raw === undefined ? 'it is not set' : `got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw)}`;
  throw new ConfigError(variable, `${issue?.message ?? 'is invalid'} (${got})`);
}

/** For main.ts: parse, or print the one line and exit non-zero. */
export function loadEnvOrExit<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  try {
    return parseEnv(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

export type KafkaEnv = z.infer<z.ZodObject<typeof kafkaEnvShape>>;
export type S3Env = z.infer<z.ZodObject<typeof s3EnvShape>>;

/** The region S3 requests are signed for: S3_REGION, else the AWS SDK's own AWS_REGION, else us-east-1. */
export function s3Region(env: Pick<S3Env, 'S3_REGION' | 'AWS_REGION'>): string {
  return env.S3_REGION ?? env.AWS_REGION ?? 'us-east-1';
}

/**
 * Builds a service's schema from shapes; cross-field rules of the shared Kafka settings are
 * checked here so that every service gets them.
 */
export function serviceEnv<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object(shape).superRefine((env, ctx) => {
    const values = env as Record<string, unknown>;
    const issue = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
    // Topics: a service whose output is its input would feed on itself; a dead letter sent to a
    // topic the pipeline reads would come back as a bad record again.
    const input = values['KAFKA_TOPIC_INPUT'];
    const output = values['KAFKA_TOPIC_OUTPUT'];
    if (input !== undefined && input === output) issue('KAFKA_TOPIC_OUTPUT', 'must differ from KAFKA_TOPIC_INPUT');
    const deadLetter = values[DEAD_LETTER_TOPIC_VARIABLE];
    if (deadLetter !== undefined && (deadLetter === input || deadLetter === output)) {
      issue(DEAD_LETTER_TOPIC_VARIABLE, 'must differ from KAFKA_TOPIC_INPUT and KAFKA_TOPIC_OUTPUT');
    }
    // More in-sync replicas than replicas and no write with acks=all would ever succeed.
    const minInsync = values['KAFKA_TOPIC_MIN_INSYNC_REPLICAS'];
    const replicas = values['KAFKA_TOPIC_REPLICATION_FACTOR'];
    if (typeof minInsync === 'number' && typeof replicas === 'number' && minInsync > replicas) {
      issue(
        'KAFKA_TOPIC_MIN_INSYNC_REPLICAS',
        `must not exceed KAFKA_TOPIC_REPLICATION_FACTOR (${replicas}), or no write with acks=all succeeds`,
      );
    }
    const mechanism = values['KAFKA_SASL_MECHANISM'];
    if (mechanism === undefined) {
      // Credentials with no mechanism would be ignored, and the client would connect without them.
      if (values['KAFKA_SASL_USERNAME'] !== undefined || values['KAFKA_SASL_PASSWORD'] !== undefined) {
        issue('KAFKA_SASL_MECHANISM', 'is required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set');
      }
      return;
    }
    for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
      if (values[variable] === undefined) issue(variable, 'is required when KAFKA_SASL_MECHANISM is set');
    }
    if (mechanism === 'plain' && values['KAFKA_SSL'] !== true && values['KAFKA_SASL_PLAIN_WITHOUT_TLS'] !== true) {
      issue(
        'KAFKA_SSL',
        'must be true with KAFKA_SASL_MECHANISM=plain, which sends the password in clear (or set KAFKA_SASL_PLAIN_WITHOUT_TLS=true)',
      );
    }
  });
}
