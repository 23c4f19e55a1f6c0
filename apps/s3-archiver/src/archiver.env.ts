import { z } from 'zod';
import { httpEnvShape, kafkaEnvShape, loadEnvOrExit, serviceEnv } from '@weblog/kafka-common';

/** The s3-archiver configuration: the only place that reads the environment. */
export const archiverEnvSchema = serviceEnv({
  ...kafkaEnvShape,
  ...httpEnvShape(3003),
});

export type ArchiverEnv = z.infer<typeof archiverEnvSchema>;

export function loadArchiverEnv(): ArchiverEnv {
  return loadEnvOrExit(archiverEnvSchema, process.env);
}
