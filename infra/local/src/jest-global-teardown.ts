import { INFRA_KEY, InfraHolder } from './jest-global-state';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as InfraHolder;
  const infra = holder[INFRA_KEY];
  delete holder[INFRA_KEY];
  await infra?.stop();
}
