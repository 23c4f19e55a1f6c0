// Warms the cache (Kafka jars, MinIO binary) without starting anything: a separate CI step, and
// the first-run step of `npm start` / `npm test`, so the long build is reported on its own.
import { prepareLocalInfra } from './prepare';
import { cacheRoot, defaultLog } from './settings';

prepareLocalInfra().then(
  (prepared) => {
    defaultLog(`cache ready in ${cacheRoot()}: Kafka ${prepared.kafka?.version ?? '-'}, MinIO ${prepared.minio?.version ?? '-'}`);
  },
  (error: unknown) => {
    defaultLog(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
