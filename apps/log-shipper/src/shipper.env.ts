import { z } from 'zod';
import { booleanFlag, httpEnvShape, kafkaEnvShape, loadEnvOrExit, positiveInt, serviceEnv } from '@weblog/kafka-common';
import { FileSpec, LOG_FORMATS, parseFileSpecs } from './files/file-spec';

const shipperId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 letters, digits or . _ -' })
  .default('weblog-log-shipper');

/** The log shipper's configuration: the only place that reads the environment. */
export const shipperEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3005),
  /** Comma-separated `PATH_OR_GLOB` or `FORMAT:PATH_OR_GLOB`; globs are expanded again on every poll. */
  SHIPPER_FILES: z.string({ error: 'is required: comma-separated paths or globs, each optionally FORMAT:' }).min(1, {
    message: 'is required: comma-separated paths or globs, each optionally FORMAT:',
  }),
  /** The format of entries without a prefix. */
  SHIPPER_FORMAT: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).default('combined'),
  /** Ship every matched file to its end, log a summary, exit 0. */
  SHIPPER_ONE_SHOT: booleanFlag(false),
  /** Names the transactional id and the keys of this instance's positions: one per shipper. */
  SHIPPER_ID: shipperId,
  SHIPPER_OFFSETS_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, { message: 'must be a Kafka topic name (letters, digits, . _ -; at most 249)' })
    .default('weblog-shipper-offsets'),
  SHIPPER_POLL_INTERVAL_MS: positiveInt(250, 60000),
  /** Lines per transaction (each transaction also carries the file's new position). */
  SHIPPER_BATCH_LINES: positiveInt(500, 10000),
  /** How long a file renamed or deleted away stays open after its last growth, for a writer that has not reopened yet. */
  SHIPPER_ROTATED_GRACE_MS: positiveInt(5000, 3600000),
  /** Terminal progress line period; 0 turns it off. */
  SHIPPER_PROGRESS_INTERVAL_MS: z.coerce
    .number({ error: 'must be a whole number of 0 or more' })
    .int({ error: 'must be a whole number of 0 or more' })
    .min(0, { error: 'must be a whole number of 0 or more' })
    .default(5000),
}).superRefine((env, ctx) => {
  const files = parseFileSpecs(env.SHIPPER_FILES, env.SHIPPER_FORMAT);
  if (!files.ok) ctx.addIssue({ code: 'custom', path: ['SHIPPER_FILES'], message: files.reason });
});

export type ShipperEnv = z.infer<typeof shipperEnvSchema>;

/** The files to ship; the schema has already refused a list this cannot read. */
export function shipperFiles(env: Pick<ShipperEnv, 'SHIPPER_FILES' | 'SHIPPER_FORMAT'>): FileSpec[] {
  const files = parseFileSpecs(env.SHIPPER_FILES, env.SHIPPER_FORMAT);
  if (!files.ok) throw new Error(`SHIPPER_FILES ${files.reason}`);
  return files.value;
}

export function loadShipperEnv(): ShipperEnv {
  return loadEnvOrExit(shipperEnvSchema, process.env);
}
