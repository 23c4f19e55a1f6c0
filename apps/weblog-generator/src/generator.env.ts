import { z } from 'zod';
import { httpEnvShape, kafkaEnvShape, loadEnvOrExit, serviceEnv } from '@weblog/kafka-common';

/** The weblog-generator configuration: the only place that reads the environment. */
export const generatorEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3001),
});

export type GeneratorEnv = z.infer<typeof generatorEnvSchema>;

export function loadGeneratorEnv(): GeneratorEnv {
  return loadEnvOrExit(generatorEnvSchema, process.env);
}
