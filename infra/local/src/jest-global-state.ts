import type { LocalInfra } from './index';

/** Jest runs global setup and teardown in the same process; this is how the instance crosses over. */
export const INFRA_KEY = '__weblogLocalInfra';

export type InfraHolder = typeof globalThis & { [INFRA_KEY]?: LocalInfra };
