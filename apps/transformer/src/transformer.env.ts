import { z } from 'zod';
import {
  DEFAULT_MAX_VALUE_BYTES,
  httpEnvShape,
  isTimeZone,
  kafkaEnvShape,
  loadEnvOrExit,
  positiveInt,
  serviceEnv,
  wholeNumber,
} from '@weblog/kafka-common';

export const DELIVERY_MODES = ['at-least-once', 'exactly-once'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** The transformer configuration: the only place that reads the environment. */
export const transformerEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3002),
  TRANSFORMER_MODE: z.enum(DELIVERY_MODES, { error: 'must be at-least-once or exactly-once' }).default('at-least-once'),
  TRANSFORMER_GROUP_ID: z.string().min(1).default('weblog-transformer'),
  /** Prefix of the transactional ids, one per input partition (exactly-once). */
  TRANSFORMER_TRANSACTIONAL_ID_PREFIX: z.string().min(1).default('weblog-transformer'),
  /** Input partitions processed at the same time. */
  TRANSFORMER_CONCURRENCY: positiveInt(3, 64),
  /**
   * Threads beside the main one that decode, check, upper-case and encode records, so one process
   * uses more than one core; 0 does it all on the main thread.
   */
  TRANSFORMER_THREADS: wholeNumber(1, 0, 16),
  /** Batches of fewer records are transformed on the main thread: the hop would cost more than it saves. */
  TRANSFORMER_THREAD_MIN_BATCH: positiveInt(100, 1_000_000),
  /** Larger input values go to the dead-letter topic unparsed. */
  TRANSFORMER_MAX_VALUE_BYTES: positiveInt(DEFAULT_MAX_VALUE_BYTES, 16 * 1024 * 1024),
  /** The zone of a timestamp that names none (Python's `isoformat()` of a naive datetime). */
  TRANSFORMER_TIMEZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, { error: 'must be an IANA time zone name such as UTC or Europe/Berlin' }),
});

export type TransformerEnv = z.infer<typeof transformerEnvSchema>;

export function loadTransformerEnv(): TransformerEnv {
  return loadEnvOrExit(transformerEnvSchema, process.env);
}
