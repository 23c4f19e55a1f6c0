import { z } from 'zod';
import { DEFAULT_LATENCY_WARMUP_MS } from './verification/run-tracker';
import {
  booleanFlag,
  DEFAULT_MAX_VALUE_BYTES,
  httpEnvShape,
  kafkaEnvShape,
  loadEnvOrExit,
  nonNegativeMilliseconds,
  positiveInt,
  s3EnvShape,
  serviceEnv,
} from '@weblog/kafka-common';

/** The verifier configuration: the only place that reads the environment. */
export const verifierEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3004),
  ...s3EnvShape,
  VERIFIER_GROUP_ID: z.string().min(1).default('weblog-verifier'),
  /** One progress line this often; 0 turns it off. */
  VERIFIER_PROGRESS_INTERVAL_MS: nonNegativeMilliseconds(5000),
  /** Where the archiver writes (its ARCHIVER_TOPICS_DIR), for the S3 audit. */
  VERIFIER_ARCHIVE_TOPICS_DIR: z
    .string()
    .regex(/^[A-Za-z0-9._\-/]*$/, { message: 'must be an S3 key prefix (letters, digits, . _ - /)' })
    .default('topics'),
  /**
   * Per-run series on /metrics are kept for this many runs, those most recently active: every
   * generator restart starts a run, and a series per run for ever would grow without bound.
   */
  VERIFIER_METRICS_RUNS: positiveInt(10, 1000),
  /**
   * POST /audit reads the whole output topic and the archive into memory: a tool for proving a run,
   * not for a long-lived production verifier, so it is off unless asked for.
   */
  VERIFIER_AUDIT_ENABLED: booleanFlag(false),
  /** Latency of records produced this long after a run's first counts as steady state (0: all of it). */
  VERIFIER_LATENCY_WARMUP_MS: nonNegativeMilliseconds(DEFAULT_LATENCY_WARMUP_MS),
  VERIFIER_MAX_VALUE_BYTES: positiveInt(DEFAULT_MAX_VALUE_BYTES, 16 * 1024 * 1024),
});

export type VerifierEnv = z.infer<typeof verifierEnvSchema>;

export function loadVerifierEnv(): VerifierEnv {
  return loadEnvOrExit(verifierEnvSchema, process.env);
}
