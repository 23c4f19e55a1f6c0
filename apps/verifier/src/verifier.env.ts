import { z } from 'zod';
import { httpEnvShape, kafkaEnvShape, loadEnvOrExit, serviceEnv } from '@weblog/kafka-common';

/** The verifier configuration: the only place that reads the environment. */
export const verifierEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3004),
});

export type VerifierEnv = z.infer<typeof verifierEnvSchema>;

export function loadVerifierEnv(): VerifierEnv {
  return loadEnvOrExit(verifierEnvSchema, process.env);
}
