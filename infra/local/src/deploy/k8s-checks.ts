/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   Rendered manifests are untyped YAML; each check is the type check of the fields it reads. */

/**
 * Checks of rendered Kubernetes objects. Each returns the problems it finds (empty: none), so a
 * test runs it on the real rendering and on a broken copy and sees it reject the copy.
 */
export type K8sObject = Record<string, any>;
export type Labels = Record<string, string>;

/** The pipeline's services; the generator and the verifier are test data (components/test-data). */
export const PIPELINE_SERVICES = ['weblog-generator', 'transformer', 's3-archiver', 'verifier'];
/** The services that talk to S3, and the account an IAM role is bound to for them. */
export const S3_USERS = ['s3-archiver', 'verifier'];
export const S3_SERVICE_ACCOUNT = 'weblog-s3';
/** With static keys, each S3 user has a Secret of its own (components/s3-static-credentials). */
export const S3_SECRETS: Readonly<Record<string, string>> = {
  's3-archiver': 'weblog-s3-archiver-credentials',
  verifier: 'weblog-s3-verifier-credentials',
};
/** The local S3 gateway's admin identity: only the gateway and its setup jobs read it. */
export const S3_ADMIN_SECRET = 'weblog-s3-admin-credentials';

export const find = (objects: K8sObject[], kind: string, name?: string): K8sObject[] =>
  objects.filter((o) => o['kind'] === kind && (name === undefined || o['metadata']?.name === name));

const POD_OWNERS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** Every pod template of the rendering, with the object that owns it. */
export function podTemplates(objects: K8sObject[]): { owner: string; labels: Labels; spec: K8sObject }[] {
  return objects
    .filter((o) => POD_OWNERS.has(o['kind']))
    .map((o) => ({
      owner: `${o['kind']}/${o['metadata']?.name}`,
      labels: (o['spec']?.template?.metadata?.labels ?? {}) as Labels,
      spec: (o['spec']?.template?.spec ?? {}) as K8sObject,
    }));
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector selects everything. */
export function selects(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const value = labels[key];
    if (operator === 'In') return value !== undefined && values.includes(value);
    if (operator === 'NotIn') return value === undefined || !values.includes(value);
    if (operator === 'Exists') return value !== undefined;
    if (operator === 'DoesNotExist') return value === undefined;
    return false;
  });
  return byLabels && byExpressions;
}

// ---------------------------------------------------------------- Pod Security Standards

const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/**
 * Where a pod template breaks the restricted Pod Security Standard (the checks of Kubernetes'
 * pod-security admission at that level), so a namespace enforcing it would refuse its pods.
 */
export function restrictedViolations(owner: string, pod: K8sObject): string[] {
  const problems: string[] = [];
  const podContext = pod['securityContext'] ?? {};
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[field] === true) problems.push(`${owner}: ${field}`);
  for (const volume of (pod['volumes'] ?? []) as K8sObject[]) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !RESTRICTED_VOLUMES.includes(type)) problems.push(`${owner}: volume ${volume['name']} of type ${type}`);
  }
  const containers = [...(pod['initContainers'] ?? []), ...(pod['containers'] ?? [])] as K8sObject[];
  for (const container of containers) {
    const where = `${owner} container ${container['name']}`;
    const context = container['securityContext'] ?? {};
    if (context.privileged === true) problems.push(`${where}: privileged`);
    if (context.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${where}: runAsUser 0`);
    const seccomp = (context.seccompProfile ?? podContext.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${where}: seccompProfile ${seccomp ?? 'unset'}`);
    const capabilities = context.capabilities ?? {};
    if (!(capabilities.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
    for (const added of (capabilities.add ?? []) as string[])
      if (added !== 'NET_BIND_SERVICE') problems.push(`${where}: adds capability ${added}`);
  }
  return problems;
}

/** Every namespace enforces the restricted standard, and every pod template meets it. */
export function podSecurityProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const namespaces = find(objects, 'Namespace');
  if (namespaces.length === 0) problems.push('no Namespace to enforce the standard on');
  for (const namespace of namespaces) {
    const labels = (namespace['metadata']?.labels ?? {}) as Labels;
    if (labels['pod-security.kubernetes.io/enforce'] !== 'restricted')
      problems.push(`Namespace ${namespace['metadata']?.name} does not enforce the restricted standard`);
  }
  for (const { owner, spec } of podTemplates(objects)) problems.push(...restrictedViolations(owner, spec));
  return problems;
}

/** The Strimzi operator Deployment runs the Restricted pod security provider. */
export function strimziRestrictedProblems(objects: K8sObject[]): string[] {
  const [operator] = find(objects, 'Deployment', 'strimzi-cluster-operator');
  if (!operator) return ['no strimzi-cluster-operator Deployment'];
  const containers = (operator['spec']?.template?.spec?.containers ?? []) as K8sObject[];
  const container = containers.find((c) => c['name'] === 'strimzi-cluster-operator');
  if (!container) return ['the operator Deployment has no strimzi-cluster-operator container'];
  const value = ((container['env'] ?? []) as K8sObject[]).find((e) => e['name'] === 'STRIMZI_POD_SECURITY_PROVIDER_CLASS')?.['value'];
  return value === 'restricted' ? [] : [`STRIMZI_POD_SECURITY_PROVIDER_CLASS is ${value ?? 'unset'}, not restricted`];
}

// ---------------------------------------------------------------- S3 access

const serviceContainer = (deployment: K8sObject): K8sObject => deployment['spec']?.template?.spec?.containers?.[0] ?? {};
const envOf = (deployment: K8sObject): K8sObject[] => (serviceContainer(deployment)['env'] ?? []) as K8sObject[];

/**
 * How the S3 users reach S3: with static keys from the Secret (`static-keys`), or through an IAM
 * role on their service account with no Secret anywhere (`workload-identity`). Either way only
 * the S3 users run as the S3 account, and their AWS_REGION is the ConfigMap's S3_REGION.
 */
export function s3AccessProblems(objects: K8sObject[], mode: 'static-keys' | 'workload-identity'): string[] {
  const problems: string[] = [];
  const deployments = PIPELINE_SERVICES.flatMap((name) => find(objects, 'Deployment', name));
  for (const deployment of deployments) {
    const name = deployment['metadata'].name as string;
    const usesS3 = S3_USERS.includes(name);
    const env = envOf(deployment);
    const account = deployment['spec']?.template?.spec?.serviceAccountName;
    if ((account === S3_SERVICE_ACCOUNT) !== usesS3) problems.push(`${name} runs as ${account ?? 'the default account'}`);
    const secretRefs = env.filter((v) => v['valueFrom']?.secretKeyRef).map((v) => `${v['name']}<-${v['valueFrom'].secretKeyRef.name}`);
    const own = S3_SECRETS[name];
    const expected = mode === 'static-keys' && usesS3 ? [`AWS_ACCESS_KEY_ID<-${own}`, `AWS_SECRET_ACCESS_KEY<-${own}`] : [];
    if (secretRefs.sort().join() !== expected.join()) problems.push(`${name} takes [${secretRefs.join(', ')}] from Secrets`);
    if (!usesS3) continue;
    const region = env.find((v) => v['name'] === 'AWS_REGION')?.['valueFrom']?.configMapKeyRef;
    const configMap = serviceContainer(deployment)['envFrom']?.find((source: K8sObject) => source['configMapRef'])?.configMapRef.name;
    if (region?.key !== 'S3_REGION' || region?.name !== configMap) problems.push(`${name}: AWS_REGION is not the shared S3_REGION`);
  }
  const [account] = find(objects, 'ServiceAccount', S3_SERVICE_ACCOUNT);
  if (!account) problems.push(`no ServiceAccount ${S3_SERVICE_ACCOUNT}`);
  const role = account?.['metadata']?.annotations?.['eks.amazonaws.com/role-arn'] as string | undefined;
  if (mode === 'workload-identity') {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(role ?? ''))
      problems.push(`${S3_SERVICE_ACCOUNT} has no IAM role ARN (${role})`);
    if (find(objects, 'Secret').length > 0) problems.push('a Secret is rendered');
  } else if (role !== undefined) {
    problems.push(`${S3_SERVICE_ACCOUNT} carries an IAM role beside static keys`);
  }
  return problems;
}

/** Who reads each Secret (through env or a volume), as sorted pod template owners. */
export function secretReaders(objects: K8sObject[]): Record<string, string[]> {
  const readers: Record<string, Set<string>> = {};
  const add = (secret: string | undefined, owner: string): void => {
    if (secret) (readers[secret] ??= new Set()).add(owner);
  };
  for (const { owner, spec } of podTemplates(objects)) {
    const containers = [...(spec['initContainers'] ?? []), ...(spec['containers'] ?? [])] as K8sObject[];
    for (const container of containers) {
      for (const variable of (container['env'] ?? []) as K8sObject[]) add(variable['valueFrom']?.secretKeyRef?.name, owner);
      for (const source of (container['envFrom'] ?? []) as K8sObject[]) add(source['secretRef']?.name, owner);
    }
    for (const volume of (spec['volumes'] ?? []) as K8sObject[]) {
      add(volume['secret']?.secretName, owner);
      for (const projected of (volume['projected']?.sources ?? []) as K8sObject[]) add(projected['secret']?.name, owner);
    }
  }
  return Object.fromEntries(
    Object.entries(readers)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([secret, owners]) => [secret, [...owners].sort()]),
  );
}

// ---------------------------------------------------------------- The local S3 gateway

/** The gateway, its setup jobs and their Service, by name (the local overlay's s3.yaml). */
export const S3_GATEWAY = { deployment: 's3', usersJob: 's3-users', bucketJob: 's3-bucket' } as const;

/** What docker-compose.yaml runs for S3, which the local overlay must run the same way. */
export interface ComposeS3 {
  /** The `s3` service's image and `environment`. */
  readonly image: string;
  readonly environment: Readonly<Record<string, string>>;
  /** The `s3-bucket` job's image. */
  readonly bucketImage: string;
}

const containerOf = (objects: K8sObject[], kind: string, name: string): K8sObject | undefined =>
  find(objects, kind, name)[0]?.['spec']?.template?.spec?.containers?.[0];
const envValue = (container: K8sObject | undefined, name: string): K8sObject | undefined =>
  ((container?.['env'] ?? []) as K8sObject[]).find((v) => v['name'] === name);

/** `http://<service>:<port>` of the Service that sends its port to the gateway's container port `number`. */
function gatewayUrl(objects: K8sObject[], number: number): string | undefined {
  const [deployment] = find(objects, 'Deployment', S3_GATEWAY.deployment);
  const labels = (deployment?.['spec']?.template?.metadata?.labels ?? {}) as Labels;
  const named = ((containerOf(objects, 'Deployment', S3_GATEWAY.deployment)?.['ports'] ?? []) as K8sObject[]).find(
    (p) => p['containerPort'] === number,
  )?.['name'];
  for (const service of find(objects, 'Service')) {
    if (!selects({ matchLabels: service['spec']?.selector ?? { none: 'selector' } }, labels)) continue;
    const port = ((service['spec']?.ports ?? []) as K8sObject[]).find((p) => p['targetPort'] === number || p['targetPort'] === named);
    if (port) return `http://${service['metadata']?.name}:${port['port']}`;
  }
  return undefined;
}

const listenPort = (address: string | undefined): number => Number(/:(\d+)$/.exec(address ?? '')?.[1]);

/**
 * The local gateway is Compose's `s3` service: the same image, the same environment, its root
 * identity from the admin Secret. The users job runs that image's admin tool against the admin
 * port, the bucket job Compose's AWS CLI image against the S3 port, and the services' S3_ENDPOINT
 * is the gateway's Service.
 */
export function s3GatewayProblems(objects: K8sObject[], compose: ComposeS3): string[] {
  const problems: string[] = [];
  const gateway = containerOf(objects, 'Deployment', S3_GATEWAY.deployment);
  if (!gateway) return [`no Deployment ${S3_GATEWAY.deployment}`];
  if (gateway['image'] !== compose.image) problems.push(`the gateway runs ${gateway['image']}, Compose ${compose.image}`);
  const literal = Object.fromEntries(
    ((gateway['env'] ?? []) as K8sObject[]).filter((v) => 'value' in v).map((v) => [v['name'] as string, v['value'] as string]),
  );
  for (const key of new Set([...Object.keys(literal), ...Object.keys(compose.environment)]))
    if (literal[key] !== compose.environment[key])
      problems.push(`the gateway's ${key} is ${literal[key] ?? 'unset'}, Compose's ${compose.environment[key] ?? 'unset'}`);
  for (const [variable, key] of [
    ['ROOT_ACCESS_KEY_ID', 'AWS_ACCESS_KEY_ID'],
    ['ROOT_SECRET_ACCESS_KEY', 'AWS_SECRET_ACCESS_KEY'],
  ] as const) {
    const ref = envValue(gateway, variable)?.['valueFrom']?.secretKeyRef;
    if (ref?.name !== S3_ADMIN_SECRET || ref?.key !== key) problems.push(`the gateway's ${variable} is not ${key} of ${S3_ADMIN_SECRET}`);
  }
  const s3Url = gatewayUrl(objects, listenPort(compose.environment['VGW_PORT']));
  const adminUrl = gatewayUrl(objects, listenPort(compose.environment['VGW_ADMIN_PORT']));
  if (!s3Url) problems.push('no Service reaches the gateway’s S3 port');
  if (!adminUrl) problems.push('no Service reaches the gateway’s admin port');
  const users = containerOf(objects, 'Job', S3_GATEWAY.usersJob);
  if (users?.['image'] !== compose.image) problems.push(`the users job runs ${users?.['image']}, not ${compose.image}`);
  if (envValue(users, 'ADMIN_ENDPOINT_URL')?.['value'] !== adminUrl)
    problems.push('the users job does not call the gateway’s admin Service');
  const bucket = containerOf(objects, 'Job', S3_GATEWAY.bucketJob);
  if (bucket?.['image'] !== compose.bucketImage) problems.push(`the bucket job runs ${bucket?.['image']}, Compose ${compose.bucketImage}`);
  if (envValue(bucket, 'AWS_ENDPOINT_URL')?.['value'] !== s3Url) problems.push('the bucket job does not call the gateway’s S3 Service');
  const endpoints = find(objects, 'ConfigMap')
    .map((c) => c['data']?.S3_ENDPOINT as string | undefined)
    .filter((e) => e !== undefined);
  if (endpoints.length !== 1 || endpoints[0] !== s3Url) problems.push(`S3_ENDPOINT is [${endpoints.join(', ')}], not ${s3Url}`);
  return problems;
}

/**
 * The bucket job applies the policy file, byte for byte, from a rendered ConfigMap it mounts
 * where its `file://` argument points.
 */
export function bucketPolicyProblems(objects: K8sObject[], fileName: string, content: string): string[] {
  const [job] = find(objects, 'Job', S3_GATEWAY.bucketJob);
  const pod = (job?.['spec']?.template?.spec ?? {}) as K8sObject;
  const container = (pod['containers']?.[0] ?? {}) as K8sObject;
  const script = [...((container['command'] ?? []) as string[]), ...((container['args'] ?? []) as string[])].join(' ');
  const applied = /put-bucket-policy\b.*--policy file:\/\/(\S+)/.exec(script)?.[1];
  if (!applied) return ['the bucket job applies no policy file'];
  const mount = ((container['volumeMounts'] ?? []) as K8sObject[]).find((m) => applied === `${m['mountPath']}/${fileName}`);
  const volume = ((pod['volumes'] ?? []) as K8sObject[]).find((v) => v['name'] === mount?.['name']);
  const data = find(objects, 'ConfigMap', volume?.['configMap']?.name)[0]?.['data']?.[fileName];
  return data === content ? [] : [`${applied} is not ${fileName} from a rendered ConfigMap of the same content`];
}

/**
 * The README's `kubectl create secret generic` commands create every Secret the rendering reads,
 * and give each S3 user's Secret a fixed access key id the bucket policy names, as one of its
 * principals: with any other id, the user exists but the policy grants it nothing.
 */
export function readmeSecretProblems(
  text: string,
  secrets: readonly string[],
  s3Users: Readonly<Record<string, string>>,
  principals: readonly string[],
): string[] {
  const created = new Map<string, string | undefined>();
  for (const command of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const name = /create secret generic (\S+)/.exec(command)?.[1];
    if (name) created.set(name, /--from-literal=AWS_ACCESS_KEY_ID=([\w.-]+)(?:\s|$)/.exec(command)?.[1]);
  }
  const problems = secrets.filter((secret) => !created.has(secret)).map((secret) => `the README creates no Secret ${secret}`);
  const ids = Object.values(s3Users).map((secret) => {
    const id = created.get(secret);
    if (created.has(secret) && !principals.includes(id ?? ''))
      problems.push(`${secret} gets access key id ${id ?? 'of its own choosing'}, which the bucket policy does not name`);
    return id;
  });
  if (new Set(ids).size !== ids.length) problems.push('two S3 users share an access key id');
  return problems;
}

/**
 * Images that declare no USER start as root, which runAsNonRoot refuses at start: their pods
 * must name a non-root uid.
 */
export function rootImageProblems(objects: K8sObject[], rootImages: readonly string[]): string[] {
  const problems: string[] = [];
  for (const { owner, spec } of podTemplates(objects)) {
    for (const container of [...(spec['initContainers'] ?? []), ...(spec['containers'] ?? [])] as K8sObject[]) {
      const repository = String(container['image']).replace(/:[^/:]*$/, '');
      if (!rootImages.includes(repository)) continue;
      const uid = container['securityContext']?.runAsUser ?? spec['securityContext']?.runAsUser;
      if (!(typeof uid === 'number' && uid > 0))
        problems.push(`${owner} container ${container['name']} runs ${repository} as ${uid ?? 'its image’s root'}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- Monitoring

const MONITORING_KINDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'];

/**
 * The Prometheus operator's objects are discoverable by a kube-prometheus-stack release (its
 * selectors match `release: <name>`), and Strimzi exports broker metrics and consumer lag to them.
 */
export function monitoringProblems(objects: K8sObject[], release: string): string[] {
  const problems: string[] = [];
  for (const kind of MONITORING_KINDS) {
    const found = find(objects, kind);
    if (found.length === 0) problems.push(`no ${kind}`);
    for (const object of found)
      if (object['metadata']?.labels?.release !== release)
        problems.push(`${kind} ${object['metadata']?.name} is not labelled release: ${release}`);
  }
  const [kafka] = find(objects, 'Kafka');
  const cluster = kafka?.['metadata']?.name as string | undefined;
  const metrics = kafka?.['spec']?.kafka?.metricsConfig;
  const ref = metrics?.valueFrom?.configMapKeyRef;
  const rules = find(objects, 'ConfigMap', ref?.name)[0]?.['data']?.[ref?.key];
  if (metrics?.type !== 'jmxPrometheusExporter' || typeof rules !== 'string' || !/^rules:/m.test(rules))
    problems.push('Kafka has no JMX exporter metricsConfig backed by a rendered ConfigMap of rules');
  if (!kafka?.['spec']?.kafkaExporter) problems.push('Kafka runs no Kafka Exporter');
  const consumerGroups = ['weblog-transformer', 'weblog-s3-archiver', 'weblog-verifier'];
  const groupRegex = new RegExp(`^(?:${kafka?.['spec']?.kafkaExporter?.groupRegex ?? '.*'})$`);
  for (const group of consumerGroups) if (!groupRegex.test(group)) problems.push(`Kafka Exporter leaves out group ${group}`);
  // Strimzi labels the pods of brokers, controllers and Kafka Exporter with their cluster.
  const strimziPod = { 'strimzi.io/cluster': cluster ?? '', 'strimzi.io/kind': 'Kafka' };
  const scrapesStrimzi = find(objects, 'PodMonitor').some(
    (monitor) =>
      selects(monitor['spec']?.selector, strimziPod) &&
      ((monitor['spec']?.podMetricsEndpoints ?? []) as K8sObject[]).some((e) => e['port'] === 'tcp-prometheus'),
  );
  if (!scrapesStrimzi) problems.push(`no PodMonitor scrapes ${cluster}'s tcp-prometheus ports`);
  return problems;
}

// ---------------------------------------------------------------- Grafana dashboard

export const DASHBOARD_FILE = 'weblog-pipeline.json';

interface DashboardJson {
  templating?: { list?: K8sObject[] };
  panels?: K8sObject[];
}

/**
 * The dashboard takes its data source from a `datasource` variable of type prometheus, and every
 * panel and query uses it: importable into any Grafana, whatever its Prometheus's uid.
 */
export function dashboardDatasourceProblems(dashboard: DashboardJson): string[] {
  const problems: string[] = [];
  const variables = (dashboard.templating?.list ?? []).filter((v) => v['type'] === 'datasource' && v['query'] === 'prometheus');
  if (variables.length !== 1) return [`${variables.length} prometheus data-source variables, not 1`];
  const expected = `\${${variables[0]?.['name']}}`;
  const panels = (dashboard.panels ?? []).flatMap((panel) => [panel, ...((panel['panels'] ?? []) as K8sObject[])]);
  for (const panel of panels) {
    if (panel['type'] === 'row' && !panel['targets']) continue;
    if (panel['datasource']?.uid !== expected) problems.push(`panel "${panel['title']}" uses ${JSON.stringify(panel['datasource'])}`);
    for (const target of (panel['targets'] ?? []) as K8sObject[])
      if (target['datasource']?.uid !== expected)
        problems.push(`panel "${panel['title']}" query ${target['refId']} uses ${JSON.stringify(target['datasource'])}`);
  }
  if (panels.length === 0) problems.push('no panels');
  return problems;
}

/** The rendering ships the dashboard file, byte for byte, in one ConfigMap Grafana's sidecar loads. */
export function dashboardConfigMapProblems(objects: K8sObject[], file: string): string[] {
  const configMaps = find(objects, 'ConfigMap').filter((c) => c['metadata']?.labels?.grafana_dashboard === '1');
  if (configMaps.length !== 1) return [`${configMaps.length} ConfigMaps labelled grafana_dashboard: "1", not 1`];
  const content = configMaps[0]?.['data']?.[DASHBOARD_FILE];
  return content === file ? [] : [`the ConfigMap's ${DASHBOARD_FILE} differs from the dashboard file`];
}

/** Compose's Grafana resolves the variable to its provisioned Prometheus: the one default data source. */
export function provisionedDatasourceProblems(provisioning: { datasources?: K8sObject[] }): string[] {
  const defaults = (provisioning.datasources ?? []).filter((d) => d['type'] === 'prometheus' && d['isDefault'] === true);
  return defaults.length === 1 ? [] : [`${defaults.length} default prometheus data sources, not 1`];
}

// ---------------------------------------------------------------- Network policies

export interface Peer {
  readonly namespace: Labels;
  readonly pod: Labels;
}

export interface Target {
  /** Labels of the pod receiving the connection, in the pipeline's namespace. */
  readonly pod: Labels;
  /** The port as its container names it, and its number. */
  readonly port: { name?: string; number: number };
}

const peerMatches = (peer: K8sObject, source: Peer, ownNamespace: Labels): boolean => {
  if (peer['ipBlock']) return false;
  const namespaceOk = peer['namespaceSelector']
    ? selects(peer['namespaceSelector'], source.namespace)
    : isDeepEqual(source.namespace, ownNamespace);
  const podOk = peer['podSelector'] ? selects(peer['podSelector'], source.pod) : true;
  return namespaceOk && podOk;
};

const isDeepEqual = (a: Labels, b: Labels): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

const portMatches = (ports: K8sObject[] | undefined, port: Target['port']): boolean =>
  !ports || ports.length === 0 || ports.some((p) => p['port'] === undefined || p['port'] === port.name || p['port'] === port.number);

/**
 * Whether NetworkPolicies let `source` open a connection to `target`, as the API defines them:
 * a pod no ingress policy selects accepts everything; otherwise some rule of a selecting policy
 * must admit the source on that port.
 */
export function admits(policies: K8sObject[], ownNamespace: Labels, target: Target, source: Peer): boolean {
  const selecting = policies.filter(
    (p) => selects(p['spec']?.podSelector, target.pod) && ((p['spec']?.policyTypes ?? ['Ingress']) as string[]).includes('Ingress'),
  );
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    ((policy['spec']?.ingress ?? []) as K8sObject[]).some(
      (rule) =>
        portMatches(rule['ports'], target.port) &&
        (!rule['from'] ||
          (rule['from'] as K8sObject[]).length === 0 ||
          (rule['from'] as K8sObject[]).some((peer) => peerMatches(peer, source, ownNamespace))),
    ),
  );
}

/**
 * The NetworkPolicy Strimzi generates for the Kafka listener from its networkPolicyPeers (an
 * empty list admits every source), for `admits` to judge alongside the rendered ones.
 */
export function strimziListenerPolicy(kafka: K8sObject, listener: string): K8sObject {
  const spec = ((kafka['spec']?.kafka?.listeners ?? []) as K8sObject[]).find((l) => l['name'] === listener);
  return {
    kind: 'NetworkPolicy',
    metadata: { name: `${kafka['metadata']?.name}-network-policy-kafka` },
    spec: {
      podSelector: { matchLabels: { 'strimzi.io/cluster': kafka['metadata']?.name, 'strimzi.io/kind': 'Kafka' } },
      policyTypes: ['Ingress'],
      ingress: spec ? [{ ports: [{ port: spec['port'] }], from: spec['networkPolicyPeers'] ?? [] }] : [],
    },
  };
}

export interface Reachability {
  readonly name: string;
  readonly target: Target;
  readonly source: Peer;
  readonly allowed: boolean;
}

/** The expectations that `admits` does not meet, named. */
export function reachabilityProblems(policies: K8sObject[], ownNamespace: Labels, cases: Reachability[]): string[] {
  return cases
    .filter((c) => admits(policies, ownNamespace, c.target, c.source) !== c.allowed)
    .map((c) => `${c.name}: ${c.allowed ? 'refused' : 'admitted'}`);
}

/** A policy selecting every pod of the namespace with no ingress rule: nothing gets in unless allowed. */
export function defaultDenyProblems(objects: K8sObject[]): string[] {
  const denies = find(objects, 'NetworkPolicy').filter(
    (p) =>
      Object.keys(p['spec']?.podSelector ?? { none: true }).length === 0 &&
      ((p['spec']?.policyTypes ?? []) as string[]).includes('Ingress') &&
      ((p['spec']?.ingress ?? []) as K8sObject[]).length === 0,
  );
  return denies.length === 1 ? [] : [`${denies.length} default-deny ingress policies, not 1`];
}

// ---------------------------------------------------------------- Scheduling

/** A consumer spreads over zones and nodes, preferring to but never refusing to schedule. */
export function spreadProblems(deployment: K8sObject): string[] {
  const name = deployment['metadata']?.name as string;
  const podLabels = (deployment['spec']?.template?.metadata?.labels ?? {}) as Labels;
  const constraints = (deployment['spec']?.template?.spec?.topologySpreadConstraints ?? []) as K8sObject[];
  const problems: string[] = [];
  for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
    const constraint = constraints.find((c) => c['topologyKey'] === key);
    if (!constraint) problems.push(`${name} does not spread over ${key}`);
    else {
      if (constraint['whenUnsatisfiable'] !== 'ScheduleAnyway') problems.push(`${name} over ${key}: ${constraint['whenUnsatisfiable']}`);
      if (!selects(constraint['labelSelector'], podLabels)) problems.push(`${name} over ${key} counts other pods than its own`);
    }
  }
  return problems;
}
