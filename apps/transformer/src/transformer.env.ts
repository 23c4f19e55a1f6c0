import { z } from 'zod';
import { httpEnvShape, kafkaEnvShape, loadEnvOrExit, serviceEnv } from '@weblog/kafka-common';

/** The transformer configuration: the only place that reads the environment. */
export const transformerEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3002),
});

export type TransformerEnv = z.infer<typeof transformerEnvSchema>;

export function loadTransformerEnv(): TransformerEnv {
  return loadEnvOrExit(transformerEnvSchema, process.env);
}
