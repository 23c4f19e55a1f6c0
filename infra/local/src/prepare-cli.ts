// Warms the cache without starting anything: a separate CI step, and the first-run step of
// `npm start` / `npm test`, so the long builds are reported on their own. `--deploy` adds the
// tools that check docker-compose.yaml, k8s/ and the Prometheus files, and nginx and kcat.
import { prepareComposeS3Server } from './compose-s3-server';
import { debianToolVersions, prepareDebianTools } from './debian-tools';
import { prepareDeployTools } from './deploy-tools';
import { prepareLocalInfra } from './prepare';
import { cacheRoot, defaultLog } from './settings';

async function main(): Promise<void> {
  const prepared = await prepareLocalInfra();
  defaultLog(`cache ready in ${cacheRoot()}: Kafka ${prepared.kafka?.version ?? '-'}, MinIO ${prepared.minio?.version ?? '-'}`);
  if (process.argv.includes('--deploy')) {
    const tools = await prepareDeployTools();
    defaultLog(
      `deploy checks ready: kustomize, kubernetes-validate for Kubernetes ${tools.kubernetesVersion}, CRDs, Prometheus and promtool, compose-config, dockerfile-lint`,
    );
    // The S3 gateway docker-compose.yaml runs, which the compose tests start.
    const s3 = await prepareComposeS3Server();
    defaultLog(`compose S3 gateway ready: versitygw ${s3.version}`);
    // nginx for the access-log e2e, kcat for the shipper benchmark.
    const debian = debianToolVersions(await prepareDebianTools());
    defaultLog(`Debian tools ready: ${debian.nginx}; kcat ${debian.kcat}`);
  }
}

main().catch((error: unknown) => {
  defaultLog(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
