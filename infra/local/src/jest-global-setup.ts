import { startLocalInfra } from './index';
import { INFRA_KEY, InfraHolder } from './jest-global-state';

/**
 * Starts Kafka and S3 once for the whole Jest run. The variables go into process.env before
 * Jest forks its workers, which is how every test file learns where the servers are.
 */
export default async function globalSetup(): Promise<void> {
  const infra = await startLocalInfra({ buckets: ['weblog-archive'] });
  (globalThis as InfraHolder)[INFRA_KEY] = infra;
  Object.assign(process.env, infra.env());
}
