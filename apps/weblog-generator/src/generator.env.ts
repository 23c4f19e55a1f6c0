import { z } from 'zod';
import { booleanFlag, httpEnvShape, kafkaEnvShape, loadEnvOrExit, nonNegativeNumber, positiveInt, serviceEnv } from '@weblog/kafka-common';

/** The weblog-generator configuration: the only place that reads the environment. */
export const generatorEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3001),
  /** Records per second; 0 sends as fast as Kafka acknowledges. */
  GENERATOR_RATE: nonNegativeNumber(100),
  /** Records to send in this run; 0 means no end. */
  GENERATOR_COUNT: z.coerce
    .number({ error: 'must be a whole number of 0 or more' })
    .int({ error: 'must be a whole number of 0 or more' })
    .min(0, { error: 'must be a whole number of 0 or more' })
    .default(0),
  /** Records per send at rate 0 (unlimited). With a rate, each send carries the records due by then (up to 10,000). */
  GENERATOR_BATCH_SIZE: positiveInt(100, 10000),
  /** With a rate, at most one send per this many milliseconds: a steady stream of small sends. */
  GENERATOR_SLICE_MS: positiveInt(5, 1000),
  /** Same seed, same records. */
  GENERATOR_SEED: z.coerce.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).optional(),
  /** Names the run in the headers; a new UUID when unset. */
  GENERATOR_RUN_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1-128 letters, digits or . _ : -' })
    .optional(),
  /** Exit once GENERATOR_COUNT records are acknowledged (for one-shot runs). */
  GENERATOR_EXIT_WHEN_DONE: booleanFlag(false),
});

export type GeneratorEnv = z.infer<typeof generatorEnvSchema>;

export function loadGeneratorEnv(): GeneratorEnv {
  return loadEnvOrExit(generatorEnvSchema, process.env);
}
