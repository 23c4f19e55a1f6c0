/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   Rendered manifests are untyped YAML; the assertions below are their type checks. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { VERSITYGW_IMAGE } from '../compose-s3-server';
import { DeployTools, prepareDeployTools } from '../deploy-tools';
import { kafkaVersion } from '../settings';
import { serviceArgs } from '../supervisor';
import { Compose } from './compose-checks';
import { readYaml, repoFile, run, yamlDocuments } from './deploy-checks';
import {
  bucketPolicyProblems,
  ComposeS3,
  dashboardConfigMapProblems,
  dashboardDatasourceProblems,
  defaultDenyProblems,
  find,
  K8sObject,
  monitoringProblems,
  PIPELINE_SERVICES,
  podSecurityProblems,
  provisionedDatasourceProblems,
  Reachability,
  reachabilityProblems,
  readmeSecretProblems,
  rootImageProblems,
  s3AccessProblems,
  s3GatewayProblems,
  S3_ADMIN_SECRET,
  S3_GATEWAY,
  S3_SECRETS,
  secretReaders,
  selects,
  spreadProblems,
  strimziListenerPolicy,
  strimziRestrictedProblems,
} from './k8s-checks';

const LOCAL = 'k8s/overlays/local';
const PRODUCTION = 'k8s/overlays/production';
const OVERLAYS = [LOCAL, PRODUCTION];
/** Production runs no test data unless its overlay opts into components/test-data. */
const SERVICES: Record<string, string[]> = { [LOCAL]: PIPELINE_SERVICES, [PRODUCTION]: ['transformer', 's3-archiver'] };
const TEST_DATA = ['weblog-generator', 'verifier'];
/** The apps' default consumer groups (TRANSFORMER_GROUP_ID, ARCHIVER_GROUP_ID), which KEDA watches. */
const CONSUMER_GROUPS: Record<string, string> = { transformer: 'weblog-transformer', 's3-archiver': 'weblog-s3-archiver' };
const DASHBOARD = 'observability/grafana/dashboards/weblog-pipeline.json';
const BUCKET_POLICY = 's3/archive-bucket-policy.json';
/** Images whose Dockerfiles declare no USER (versitygw's in its module source, the AWS CLI's). */
const ROOT_IMAGES = ['versity/versitygw', 'amazon/aws-cli'];
const RELEASE = 'kube-prometheus-stack';
const NAMESPACE = { 'kubernetes.io/metadata.name': 'weblog' };

interface Validation {
  kind: string;
  name: string;
  ok: boolean;
  schema?: string;
  error?: string;
}

function validate(tools: DeployTools, rendered: string): { status: number | null; results: Validation[] } {
  const result = run(tools.python, [tools.validator, tools.kubernetesVersion, tools.crdDir], { input: rendered });
  if (result.stderr.trim()) throw new Error(result.stderr);
  const results = result.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Validation);
  return { status: result.status, results };
}

function build(tools: DeployTools, dir: string): string {
  const result = run(tools.kustomize, ['build', dir]);
  if (result.status !== 0) throw new Error(`kustomize build ${dir}: ${result.stderr}`);
  return result.stdout;
}

/**
 * Renders a kustomization written to a scratch directory, its paths into the repository made
 * relative (kustomize refuses absolute ones); `files` are copied beside it.
 */
function buildScratch(tools: DeployTools, kustomization: K8sObject, files: Record<string, string> = {}): K8sObject[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weblog-k8s-'));
  try {
    const relative = (entry: string): string => (entry in files ? entry : path.relative(dir, repoFile(entry)));
    const out = { ...kustomization };
    for (const field of ['resources', 'components']) if (out[field]) out[field] = (out[field] as string[]).map(relative);
    for (const [name, source] of Object.entries(files)) copyFileSync(source, path.join(dir, name));
    writeFileSync(path.join(dir, 'kustomization.yaml'), stringify(out));
    return yamlDocuments(build(tools, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An overlay as a user would edit it, with its own files beside it and more components. */
function overlayWith(tools: DeployTools, overlay: string, extra: { components?: string[]; patches?: K8sObject[] }): K8sObject[] {
  const kustomization = readYaml<K8sObject>(`${overlay}/kustomization.yaml`);
  const local = ((kustomization['resources'] ?? []) as string[]).filter((entry) => entry.endsWith('.yaml'));
  const fromOverlay = (entries: string[] = []): string[] =>
    entries.map((entry) => (local.includes(entry) ? entry : path.posix.join(overlay, entry)));
  return buildScratch(
    tools,
    {
      ...kustomization,
      resources: fromOverlay(kustomization['resources']),
      components: [...(extra.components ?? []), ...fromOverlay(kustomization['components'])],
      patches: [...((kustomization['patches'] ?? []) as K8sObject[]), ...(extra.patches ?? [])],
    },
    Object.fromEntries(local.map((file) => [file, repoFile(`${overlay}/${file}`)])),
  );
}

/** JSON round trip: structuredClone under Jest builds objects of another realm, which strict equality tells apart. */
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A copy of the rendering with one object changed. */
function mutate(objects: K8sObject[], kind: string, name: string, change: (object: K8sObject) => void): K8sObject[] {
  const copy = clone(objects);
  const [target] = find(copy, kind, name);
  if (!target) throw new Error(`${kind}/${name} is not rendered`);
  change(target);
  return copy;
}

const podLabels = (objects: K8sObject[], deployment: string): Record<string, string> =>
  find(objects, 'Deployment', deployment)[0]?.['spec'].template.metadata.labels ?? { missing: deployment };

describe('k8s/', () => {
  let tools: DeployTools;
  const rendered = new Map<string, string>();

  beforeAll(async () => {
    tools = await prepareDeployTools();
    for (const overlay of OVERLAYS) {
      const result = run(tools.kustomize, ['build', repoFile(overlay)]);
      expect({ overlay, status: result.status, stderr: result.stderr }).toEqual({ overlay, status: 0, stderr: '' });
      rendered.set(overlay, result.stdout);
    }
  });

  it.each(OVERLAYS)('%s renders objects that are all schema-valid for the pinned Kubernetes and operator versions', (overlay) => {
    const text = rendered.get(overlay) ?? '';
    const { status, results } = validate(tools, text);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(status).toBe(0);
    expect(results).toHaveLength(yamlDocuments(text).length);
    // Custom resources were checked against their CRDs, not skipped.
    const byKind = Object.fromEntries(results.map((r) => [r.kind, r.schema]));
    expect(byKind).toMatchObject({
      Deployment: `kubernetes ${tools.kubernetesVersion}`,
      NetworkPolicy: `kubernetes ${tools.kubernetesVersion}`,
      Kafka: 'strimzi-kafka.yaml',
      KafkaNodePool: 'strimzi-kafkanodepool.yaml',
      KafkaTopic: 'strimzi-kafkatopic.yaml',
      ScaledObject: 'keda.sh_scaledobjects.yaml',
      ServiceMonitor: 'monitoring.coreos.com_servicemonitors.yaml',
      PodMonitor: 'monitoring.coreos.com_podmonitors.yaml',
      PrometheusRule: 'monitoring.coreos.com_prometheusrules.yaml',
    });
  });

  it('rejects unknown fields and wrong types, in built-in kinds and custom resources alike', () => {
    const text = rendered.get(PRODUCTION) ?? '';
    const mutations: [string, string, string][] = [
      ['Kafka', 'metadataVersion', text.replace('    version: 4.3.1', '    version: 4.3.1\n    metdataVersion: 4.3-IV0')],
      ['Kafka', 'kafkaExporter', text.replace('groupRegex:', 'groupRegexp:')],
      ['KafkaTopic', 'partitions', text.replace('partitions: 6', 'partitions: six')],
      ['ScaledObject', 'maxReplicaCount', text.replace('maxReplicaCount: 6', 'maxReplicaCount: "many"')],
      ['Deployment', 'readOnlyRootFilesystem', text.replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true')],
      ['Deployment', 'whenUnsatisfiable', text.replace('whenUnsatisfiable: ScheduleAnyway', 'whenUnsatisfiable: [ScheduleAnyway]')],
      ['PodDisruptionBudget', 'maxUnavailable', text.replace('maxUnavailable: 1', 'maxUnavailabel: 1')],
      ['PodMonitor', 'podMetricsEndpoints', text.replace('podMetricsEndpoints:', 'podMetricEndpoints:')],
      ['NetworkPolicy', 'policyTypes', text.replace('policyTypes:', 'policyType:')],
    ];
    for (const [kind, field, mutated] of mutations) {
      expect({ field, changed: mutated !== text }).toEqual({ field, changed: true });
      const { status, results } = validate(tools, mutated);
      expect({ field, status }).toEqual({ field, status: 1 });
      expect(results.filter((r) => !r.ok).map((r) => r.kind)).toContain(kind);
    }
  });

  describe.each(OVERLAYS)('%s', (overlay) => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = yamlDocuments(rendered.get(overlay) ?? '');
    });

    it('runs each service hardened, probed, bounded, configured and disruption-budgeted', () => {
      for (const name of SERVICES[overlay] ?? []) {
        const [deployment] = find(objects, 'Deployment', name);
        expect({ name, found: deployment !== undefined }).toEqual({ name, found: true });
        const pod = deployment?.['spec'].template.spec;
        const [container] = pod.containers;
        // After the image's `node` entry point: Node's options, the same as the local launcher's, and the app.
        expect(container.args).toEqual(serviceArgs(name));
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
        expect(container.resources).toMatchObject({
          requests: { cpu: expect.any(String), memory: expect.any(String) },
          limits: { cpu: expect.any(String), memory: expect.any(String) },
        });
        // The shared settings come from the generated ConfigMap, which the overlay renders.
        const configMap = container.envFrom.find((source: K8sObject) => source['configMapRef'])?.configMapRef.name;
        expect(find(objects, 'ConfigMap', configMap)).toHaveLength(1);
        // No secret value inline: anything secret-like comes from a Secret reference.
        for (const variable of container.env as K8sObject[]) {
          if (/SECRET|PASSWORD|ACCESS_KEY|TOKEN/.test(variable['name']))
            expect(variable['valueFrom']?.secretKeyRef?.name).toBe(S3_SECRETS[name] ?? `no Secret for ${name}`);
        }
        const labels = deployment?.['spec'].template.metadata.labels;
        const [service] = find(objects, 'Service').filter((s) => selects({ matchLabels: s['spec'].selector }, labels));
        expect(service?.['spec'].ports).toEqual([expect.objectContaining({ name: 'http', targetPort: 'http' })]);
        expect(find(objects, 'PodDisruptionBudget').filter((p) => selects(p['spec'].selector, labels))).toHaveLength(1);
        // The ServiceMonitor scrapes that Service's http port.
        const [monitor] = find(objects, 'ServiceMonitor');
        expect(selects(monitor?.['spec'].selector, service?.['metadata'].labels)).toBe(true);
        expect(monitor?.['spec'].endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
      }
    });

    it('enforces the restricted Pod Security Standard on the namespace, and every pod template meets it', () => {
      expect(podSecurityProblems(objects)).toEqual([]);
      const loose = mutate(objects, 'Deployment', 'transformer', (d) => {
        delete d['spec'].template.spec.securityContext.seccompProfile;
      });
      expect(podSecurityProblems(loose)).toEqual(['Deployment/transformer container service: seccompProfile unset']);
      const relabelled = mutate(objects, 'Namespace', 'weblog', (n) => {
        n['metadata'].labels['pod-security.kubernetes.io/enforce'] = 'baseline';
      });
      expect(podSecurityProblems(relabelled)).toEqual(['Namespace weblog does not enforce the restricted standard']);
    });

    it('runs the pipeline from the overlay’s own image', () => {
      const images = PIPELINE_SERVICES.flatMap((name) => find(objects, 'Deployment', name)).map(
        (d) => d['spec'].template.spec.containers[0].image as string,
      );
      const [mapping] = readYaml<{ images: { newName: string; newTag: string }[] }>(`${overlay}/kustomization.yaml`).images;
      expect(new Set(images)).toEqual(new Set([`${mapping?.newName}:${mapping?.newTag}`]));
    });

    it('makes the ServiceMonitor, PodMonitor and PrometheusRule discoverable by kube-prometheus-stack, with broker metrics and lag', () => {
      expect(monitoringProblems(objects, RELEASE)).toEqual([]);
      const unlabelled = mutate(objects, 'PodMonitor', 'weblog-kafka', (m) => {
        delete m['metadata'].labels.release;
      });
      expect(monitoringProblems(unlabelled, RELEASE)).toEqual([`PodMonitor weblog-kafka is not labelled release: ${RELEASE}`]);
      const [kafka] = find(objects, 'Kafka');
      const withoutLag = mutate(objects, 'Kafka', kafka?.['metadata'].name, (k) => {
        delete k['spec'].kafkaExporter;
      });
      expect(monitoringProblems(withoutLag, RELEASE)).toEqual(['Kafka runs no Kafka Exporter']);
      const withoutMetrics = mutate(objects, 'ConfigMap', 'weblog-kafka-metrics', (c) => {
        c['data'] = {};
      });
      expect(monitoringProblems(withoutMetrics, RELEASE)).toEqual([
        'Kafka has no JMX exporter metricsConfig backed by a rendered ConfigMap of rules',
      ]);
    });

    it('ships the dashboard file, byte for byte, as a ConfigMap for Grafana’s sidecar', () => {
      const file = readFileSync(repoFile(DASHBOARD), 'utf8');
      expect(dashboardConfigMapProblems(objects, file)).toEqual([]);
      const edited = mutate(objects, 'ConfigMap', 'weblog-pipeline-dashboard', (c) => {
        c['data']['weblog-pipeline.json'] = file.replace('"Weblog pipeline"', '"Weblog pipeline (copy)"');
      });
      expect(dashboardConfigMapProblems(edited, file)).toEqual(["the ConfigMap's weblog-pipeline.json differs from the dashboard file"]);
    });

    it('lets only Prometheus reach the HTTP ports, only the pipeline and KEDA reach Kafka, and denies the rest', () => {
      const policies = find(objects, 'NetworkPolicy');
      const [kafka] = find(objects, 'Kafka');
      const withStrimzi = [...policies, strimziListenerPolicy(kafka ?? {}, 'plain')];
      const kafkaPod = { 'strimzi.io/cluster': kafka?.['metadata'].name, 'strimzi.io/kind': 'Kafka' };
      const prometheus = { namespace: { 'kubernetes.io/metadata.name': 'monitoring' }, pod: { 'app.kubernetes.io/name': 'prometheus' } };
      const keda = { namespace: { 'kubernetes.io/metadata.name': 'keda' }, pod: { app: 'keda-operator' } };
      const stranger = { namespace: NAMESPACE, pod: { 'app.kubernetes.io/name': 'debug-shell' } };
      const cases: Reachability[] = [];
      for (const name of SERVICES[overlay] ?? []) {
        const target = { pod: podLabels(objects, name), port: { name: 'http', number: 3000 } };
        const self = { namespace: NAMESPACE, pod: podLabels(objects, name) };
        cases.push({ name: `Prometheus -> ${name}:http`, target, source: prometheus, allowed: true });
        cases.push({ name: `stranger -> ${name}:http`, target, source: stranger, allowed: false });
        cases.push({ name: `${name} -> Kafka`, target: { pod: kafkaPod, port: { number: 9092 } }, source: self, allowed: true });
      }
      cases.push({ name: 'KEDA -> Kafka', target: { pod: kafkaPod, port: { number: 9092 } }, source: keda, allowed: true });
      cases.push({ name: 'stranger -> Kafka', target: { pod: kafkaPod, port: { number: 9092 } }, source: stranger, allowed: false });
      cases.push({ name: 'Prometheus -> Kafka', target: { pod: kafkaPod, port: { number: 9092 } }, source: prometheus, allowed: false });
      expect(defaultDenyProblems(objects)).toEqual([]);
      expect(reachabilityProblems(withStrimzi, NAMESPACE, cases)).toEqual([]);

      // Broken copies: no default deny; a listener without peers (Strimzi then admits everyone).
      const open = objects.filter((o) => !(o['kind'] === 'NetworkPolicy' && o['metadata'].name === 'default-deny-ingress'));
      expect(defaultDenyProblems(open)).toEqual(['0 default-deny ingress policies, not 1']);
      const peerless = clone(kafka ?? {});
      delete peerless['spec'].kafka.listeners[0].networkPolicyPeers;
      expect(reachabilityProblems([...policies, strimziListenerPolicy(peerless, 'plain')], NAMESPACE, cases)).toEqual([
        'stranger -> Kafka: admitted',
        'Prometheus -> Kafka: admitted',
      ]);
      const everyone = clone(policies);
      for (const policy of everyone) if (policy['metadata'].name === 'weblog-pipeline-http') policy['spec'].ingress[0].from = [];
      expect(reachabilityProblems([...everyone, strimziListenerPolicy(kafka ?? {}, 'plain')], NAMESPACE, cases)).toEqual(
        (SERVICES[overlay] ?? []).map((name) => `stranger -> ${name}:http: admitted`),
      );
    });

    it('spreads the consumers over zones and nodes without ever refusing to schedule them', () => {
      for (const name of Object.keys(CONSUMER_GROUPS)) expect(spreadProblems(find(objects, 'Deployment', name)[0] ?? {})).toEqual([]);
      const strict = mutate(objects, 'Deployment', 'transformer', (d) => {
        d['spec'].template.spec.topologySpreadConstraints[0].whenUnsatisfiable = 'DoNotSchedule';
        d['spec'].template.spec.topologySpreadConstraints.pop();
      });
      expect(spreadProblems(find(strict, 'Deployment', 'transformer')[0] ?? {})).toEqual([
        'transformer over topology.kubernetes.io/zone: DoNotSchedule',
        'transformer does not spread over kubernetes.io/hostname',
      ]);
    });

    it('scales the consumers with KEDA on their own group lag, never beyond the partition count', () => {
      const scaled = find(objects, 'ScaledObject');
      expect(scaled.map((s) => s['spec'].scaleTargetRef.name).sort()).toEqual(Object.keys(CONSUMER_GROUPS).sort());
      for (const object of scaled) {
        const target = object['spec'].scaleTargetRef.name as string;
        expect(find(objects, 'Deployment', target)).toHaveLength(1);
        // KEDA owns the replica count; a fixed one in the Deployment would fight it on every apply.
        expect(find(objects, 'Deployment', target)[0]?.['spec'].replicas).toBeUndefined();
        const [trigger] = object['spec'].triggers;
        expect(trigger).toMatchObject({ type: 'kafka', metadata: { consumerGroup: CONSUMER_GROUPS[target], allowIdleConsumers: 'false' } });
        const [topic] = find(objects, 'KafkaTopic', trigger.metadata.topic);
        expect(topic).toBeDefined();
        expect(object['spec'].maxReplicaCount).toBeLessThanOrEqual(topic?.['spec'].partitions);
        expect(trigger.metadata.bootstrapServers).toBe(`${find(objects, 'Kafka')[0]?.['metadata'].name}-kafka-bootstrap:9092`);
      }
    });

    it('runs Kafka in KRaft node pools, the same release as the local launcher, with the topics the services expect', () => {
      const [kafka] = find(objects, 'Kafka');
      expect(kafka?.['spec'].kafka.version).toBe(kafkaVersion());
      const roles = find(objects, 'KafkaNodePool').flatMap((pool) => pool['spec'].roles as string[]);
      expect(new Set(roles)).toEqual(new Set(['controller', 'broker']));
      const [configMap] = find(objects, 'ConfigMap').filter((c) => c['data']?.KAFKA_BROKERS);
      const topics = find(objects, 'KafkaTopic');
      expect(topics.map((t) => t['metadata'].name).sort()).toEqual([
        'input-topic',
        'output-topic',
        'reprocessed-data',
        'weblog-dead-letter',
      ]);
      for (const topic of topics) {
        expect(String(topic['spec'].partitions)).toBe(configMap?.['data'].KAFKA_TOPIC_PARTITIONS);
        expect(String(topic['spec'].replicas)).toBe(configMap?.['data'].KAFKA_TOPIC_REPLICATION_FACTOR);
      }
    });
  });

  describe('local overlay', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = yamlDocuments(rendered.get(LOCAL) ?? '');
    });

    it('gives each S3 user static keys of its own, and the admin’s only to the gateway and its setup jobs', () => {
      expect(s3AccessProblems(objects, 'static-keys')).toEqual([]);
      const leaky = mutate(objects, 'Deployment', 'transformer', (d) => {
        d['spec'].template.spec.containers[0].env.push({
          name: 'AWS_SECRET_ACCESS_KEY',
          valueFrom: { secretKeyRef: { name: S3_SECRETS['s3-archiver'], key: 'AWS_SECRET_ACCESS_KEY' } },
        });
      });
      expect(s3AccessProblems(leaky, 'static-keys')).toEqual([
        `transformer takes [AWS_SECRET_ACCESS_KEY<-${S3_SECRETS['s3-archiver']}] from Secrets`,
      ]);
      const regionless = mutate(objects, 'Deployment', 'verifier', (d) => {
        d['spec'].template.spec.containers[0].env = d['spec'].template.spec.containers[0].env.filter(
          (v: K8sObject) => v['name'] !== 'AWS_REGION',
        );
      });
      expect(s3AccessProblems(regionless, 'static-keys')).toEqual(['verifier: AWS_REGION is not the shared S3_REGION']);
      const swapped = mutate(objects, 'Deployment', 'verifier', (d) => {
        for (const variable of d['spec'].template.spec.containers[0].env as K8sObject[])
          if (variable['valueFrom']?.secretKeyRef) variable['valueFrom'].secretKeyRef.name = S3_SECRETS['s3-archiver'];
      });
      expect(s3AccessProblems(swapped, 'static-keys')).toEqual([
        `verifier takes [AWS_ACCESS_KEY_ID<-${S3_SECRETS['s3-archiver']}, AWS_SECRET_ACCESS_KEY<-${S3_SECRETS['s3-archiver']}] from Secrets`,
      ]);

      const { deployment, usersJob, bucketJob } = S3_GATEWAY;
      const readers = {
        [S3_ADMIN_SECRET]: [`Deployment/${deployment}`, `Job/${bucketJob}`, `Job/${usersJob}`],
        [S3_SECRETS['s3-archiver'] ?? '']: ['Deployment/s3-archiver', `Job/${usersJob}`],
        [S3_SECRETS['verifier'] ?? '']: ['Deployment/verifier', `Job/${usersJob}`],
      };
      expect(secretReaders(objects)).toEqual(readers);
      const admin = mutate(objects, 'Deployment', 's3-archiver', (d) => {
        for (const variable of d['spec'].template.spec.containers[0].env as K8sObject[])
          if (variable['valueFrom']?.secretKeyRef) variable['valueFrom'].secretKeyRef.name = S3_ADMIN_SECRET;
      });
      expect(secretReaders(admin)[S3_ADMIN_SECRET]).toEqual(['Deployment/s3', 'Deployment/s3-archiver', 'Job/s3-bucket', 'Job/s3-users']);
    });

    it('runs Compose’s S3 gateway release and environment, its setup jobs against its Services, and S3_ENDPOINT at it', () => {
      const compose = readYaml<Compose>('docker-compose.yaml');
      const environment = Object.fromEntries(
        Object.entries(compose.services['s3']?.environment ?? {}).map(([key, value]) => [key, value ?? '']),
      );
      const expected: ComposeS3 = {
        image: compose.services['s3']?.image ?? 'no compose s3 image',
        environment,
        bucketImage: compose.services['s3-bucket']?.image ?? 'no compose s3-bucket image',
      };
      // One pin: the image Compose and the overlay run is the release the launcher builds and tests.
      expect(expected.image).toBe(VERSITYGW_IMAGE);
      expect(compose.services['s3-users']?.image).toBe(VERSITYGW_IMAGE);
      expect(s3GatewayProblems(objects, expected)).toEqual([]);

      expect(s3GatewayProblems(objects, { ...expected, image: 'versity/versitygw:v1.7.0' })).toEqual([
        `the gateway runs ${VERSITYGW_IMAGE}, Compose versity/versitygw:v1.7.0`,
        `the users job runs ${VERSITYGW_IMAGE}, not versity/versitygw:v1.7.0`,
      ]);
      const drifted = mutate(objects, 'Deployment', S3_GATEWAY.deployment, (d) => {
        const env = d['spec'].template.spec.containers[0].env as K8sObject[];
        d['spec'].template.spec.containers[0].env = env.filter((v) => v['name'] !== 'VGW_HEALTH');
        for (const variable of env)
          if (variable['name'] === 'ROOT_SECRET_ACCESS_KEY') variable['valueFrom'].secretKeyRef.name = S3_SECRETS['verifier'];
      });
      expect(s3GatewayProblems(drifted, expected)).toEqual([
        `the gateway's VGW_HEALTH is unset, Compose's ${environment['VGW_HEALTH']}`,
        `the gateway's ROOT_SECRET_ACCESS_KEY is not AWS_SECRET_ACCESS_KEY of ${S3_ADMIN_SECRET}`,
      ]);
      const [settings] = find(objects, 'ConfigMap').filter((c) => c['data']?.S3_ENDPOINT);
      const elsewhere = mutate(objects, 'ConfigMap', settings?.['metadata'].name, (c) => {
        c['data'].S3_ENDPOINT = 'http://minio:9000';
      });
      expect(s3GatewayProblems(elsewhere, expected)).toEqual(['S3_ENDPOINT is [http://minio:9000], not http://s3:7070']);
      const unexposed = mutate(objects, 'Service', S3_GATEWAY.deployment, (s) => {
        s['spec'].ports = s['spec'].ports.filter((p: K8sObject) => p['name'] !== 'admin');
      });
      expect(s3GatewayProblems(unexposed, expected)).toEqual([
        'no Service reaches the gateway’s admin port',
        'the users job does not call the gateway’s admin Service',
      ]);
    });

    it('applies the repository’s bucket policy file, byte for byte, from a ConfigMap generated from it', () => {
      const policy = readFileSync(repoFile(BUCKET_POLICY), 'utf8');
      const name = path.basename(BUCKET_POLICY);
      expect(bucketPolicyProblems(objects, name, policy)).toEqual([]);
      const [configMap] = find(objects, 'ConfigMap').filter((c) => c['data']?.[name] !== undefined);
      const edited = mutate(objects, 'ConfigMap', configMap?.['metadata'].name, (c) => {
        c['data'][name] = policy.replace('"s3:PutObject"', '"s3:*"');
      });
      expect(bucketPolicyProblems(edited, name, policy)).toEqual([
        `/policy/${name} is not ${name} from a rendered ConfigMap of the same content`,
      ]);
      const unmounted = mutate(objects, 'Job', S3_GATEWAY.bucketJob, (j) => {
        j['spec'].template.spec.containers[0].volumeMounts = [];
      });
      expect(bucketPolicyProblems(unmounted, name, policy)).toEqual([
        `/policy/${name} is not ${name} from a rendered ConfigMap of the same content`,
      ]);
    });

    it('has the README create every Secret the overlay reads, the S3 users’ access key ids being the bucket policy’s principals', () => {
      const readme = readFileSync(repoFile('README.md'), 'utf8');
      const section = readme.slice(readme.indexOf('## Run it on Kubernetes'), readme.indexOf('## Observe it'));
      const policy = JSON.parse(readFileSync(repoFile(BUCKET_POLICY), 'utf8')) as { Statement: { Principal: { AWS: string[] } }[] };
      const principals = [...new Set(policy.Statement.flatMap((statement) => statement.Principal.AWS))].sort();
      expect(readmeSecretProblems(section, Object.keys(secretReaders(objects)), S3_SECRETS, principals)).toEqual([]);
      const misnamed = section.replace('AWS_ACCESS_KEY_ID=weblog-verifier', 'AWS_ACCESS_KEY_ID=verifier');
      expect(readmeSecretProblems(misnamed, Object.keys(secretReaders(objects)), S3_SECRETS, principals)).toEqual([
        `${S3_SECRETS['verifier']} gets access key id verifier, which the bucket policy does not name`,
      ]);
      const forgotten = section.replace(`secret generic ${S3_ADMIN_SECRET}`, 'secret generic weblog-s3-credentials');
      expect(readmeSecretProblems(forgotten, Object.keys(secretReaders(objects)), S3_SECRETS, principals)).toEqual([
        `the README creates no Secret ${S3_ADMIN_SECRET}`,
      ]);
    });

    it('runs the gateway and its jobs, whose images declare no USER, as a non-root uid', () => {
      expect(rootImageProblems(objects, ROOT_IMAGES)).toEqual([]);
      const rootful = mutate(objects, 'Deployment', S3_GATEWAY.deployment, (d) => {
        delete d['spec'].template.spec.securityContext.runAsUser;
      });
      expect(rootImageProblems(rootful, ROOT_IMAGES)).toEqual(['Deployment/s3 container s3 runs versity/versitygw as its image’s root']);
      // The restricted standard alone would not notice: runAsNonRoot is still set.
      expect(podSecurityProblems(rootful)).toEqual([]);
    });

    it('lets only the S3 users and the bucket job reach the gateway’s S3 port, and only the users job its admin port', () => {
      const gateway = podLabels(objects, S3_GATEWAY.deployment);
      const s3 = { pod: gateway, port: { name: 's3', number: 7070 } };
      const adminPort = { pod: gateway, port: { name: 'admin', number: 7071 } };
      const jobLabels = (name: string) => find(objects, 'Job', name)[0]?.['spec'].template.metadata.labels ?? { missing: name };
      const from = (labels: Record<string, string>) => ({ namespace: NAMESPACE, pod: labels });
      const stranger = from({ 'app.kubernetes.io/name': 'debug-shell' });
      const cases: Reachability[] = [
        ...PIPELINE_SERVICES.flatMap((name) => [
          {
            name: `${name} -> S3`,
            target: s3,
            source: from(podLabels(objects, name)),
            allowed: ['s3-archiver', 'verifier'].includes(name),
          },
          { name: `${name} -> S3 admin`, target: adminPort, source: from(podLabels(objects, name)), allowed: false },
        ]),
        { name: 'bucket job -> S3', target: s3, source: from(jobLabels(S3_GATEWAY.bucketJob)), allowed: true },
        { name: 'bucket job -> S3 admin', target: adminPort, source: from(jobLabels(S3_GATEWAY.bucketJob)), allowed: false },
        { name: 'users job -> S3 admin', target: adminPort, source: from(jobLabels(S3_GATEWAY.usersJob)), allowed: true },
        { name: 'stranger -> S3', target: s3, source: stranger, allowed: false },
        { name: 'stranger -> S3 admin', target: adminPort, source: stranger, allowed: false },
      ];
      const policies = find(objects, 'NetworkPolicy');
      expect(reachabilityProblems(policies, NAMESPACE, cases)).toEqual([]);
      const widened = clone(policies);
      for (const policy of widened)
        if (policy['metadata'].name === S3_GATEWAY.deployment)
          policy['spec'].ingress[0].from[0].podSelector.matchExpressions[0].values.push('transformer');
      expect(reachabilityProblems(widened, NAMESPACE, cases)).toEqual(['transformer -> S3: admitted']);
      const portless = clone(policies);
      for (const policy of portless) if (policy['metadata'].name === S3_GATEWAY.deployment) delete policy['spec'].ingress[0].ports;
      expect(reachabilityProblems(portless, NAMESPACE, cases)).toEqual([
        's3-archiver -> S3 admin: admitted',
        'verifier -> S3 admin: admitted',
        'bucket job -> S3 admin: admitted',
      ]);
    });

    it('carries the same alert rules as observability/prometheus/alerts.yml, which Compose runs with the verifier', () => {
      const [rule] = find(objects, 'PrometheusRule');
      const groups = readYaml<{ groups: unknown }>('observability/prometheus/alerts.yml').groups;
      expect(isDeepStrictEqual(rule?.['spec'].groups, groups)).toBe(true);
    });
  });

  describe('production overlay', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = yamlDocuments(rendered.get(PRODUCTION) ?? '');
    });

    it('reaches S3 through an IAM role on the S3 users’ service account, with no Secret at all', () => {
      expect(s3AccessProblems(objects, 'workload-identity')).toEqual([]);
      const roleless = mutate(objects, 'ServiceAccount', 'weblog-s3', (a) => {
        delete a['metadata'].annotations;
      });
      expect(s3AccessProblems(roleless, 'workload-identity')).toEqual(['weblog-s3 has no IAM role ARN (undefined)']);
      const keyed = mutate(objects, 'Deployment', 's3-archiver', (d) => {
        d['spec'].template.spec.containers[0].env.push({
          name: 'AWS_ACCESS_KEY_ID',
          valueFrom: { secretKeyRef: { name: S3_SECRETS['s3-archiver'], key: 'AWS_ACCESS_KEY_ID' } },
        });
      });
      expect(s3AccessProblems(keyed, 'workload-identity')).toEqual([
        `s3-archiver takes [AWS_ACCESS_KEY_ID<-${S3_SECRETS['s3-archiver']}] from Secrets`,
      ]);
      const borrowed = mutate(objects, 'Deployment', 'transformer', (d) => {
        d['spec'].template.spec.serviceAccountName = 'weblog-s3';
      });
      expect(s3AccessProblems(borrowed, 'workload-identity')).toEqual(['transformer runs as weblog-s3']);
    });

    it('runs no test data; components/test-data adds the generator and verifier, hardened like the rest', () => {
      for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget'])
        expect(TEST_DATA.flatMap((name) => find(objects, kind, name))).toEqual([]);
      const withTestData = overlayWith(tools, PRODUCTION, { components: ['k8s/components/test-data'] });
      for (const name of TEST_DATA)
        expect({ name, deployments: find(withTestData, 'Deployment', name).length }).toEqual({ name, deployments: 1 });
      expect(podSecurityProblems(withTestData)).toEqual([]);
      expect(s3AccessProblems(withTestData, 'workload-identity')).toEqual([]);
      const [mapping] = readYaml<{ images: { newName: string; newTag: string }[] }>(`${PRODUCTION}/kustomization.yaml`).images;
      for (const name of TEST_DATA)
        expect(find(withTestData, 'Deployment', name)[0]?.['spec'].template.spec.containers[0].image).toBe(
          `${mapping?.newName}:${mapping?.newTag}`,
        );
      const configMaps = find(withTestData, 'ConfigMap').map((c) => c['metadata'].name);
      for (const name of TEST_DATA)
        expect(configMaps).toContain(
          find(withTestData, 'Deployment', name)[0]?.['spec'].template.spec.containers[0].envFrom[0].configMapRef.name,
        );
      // The verifier's absence is alerted on exactly where one runs.
      const absence = (rendering: K8sObject[]): string =>
        find(rendering, 'PrometheusRule')[0]?.['spec'].groups[0].rules.find((r: K8sObject) => r['alert'] === 'WeblogServiceAbsent').expr;
      expect(absence(objects)).not.toContain('verifier');
      expect(absence(withTestData)).toContain('absent(up{service="verifier"})');
    });

    it('components/log-shipper-sidecar adds nginx and the log shipper sharing an emptyDir, restricted, schema-valid, let into Kafka', () => {
      const withShipper = overlayWith(tools, PRODUCTION, { components: ['k8s/components/log-shipper-sidecar'] });
      const { results } = validate(tools, withShipper.map((object) => stringify(object)).join('---\n'));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(podSecurityProblems(withShipper)).toEqual([]);
      const pod = find(withShipper, 'Deployment', 'web')[0]?.['spec'].template;
      const containers = Object.fromEntries(pod.spec.containers.map((c: K8sObject) => [c['name'], c]));
      expect(containers['service'].args).toEqual(['apps/log-shipper/dist/main.js']);
      expect(containers['service'].readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(containers['nginx'].image).toMatch(/^nginx:\d+\.\d+\.\d+-alpine$/);
      const mountsOf = (name: string) => containers[name].volumeMounts.find((m: K8sObject) => m['name'] === 'logs');
      expect([mountsOf('nginx'), mountsOf('service')]).toEqual([
        { name: 'logs', mountPath: '/logs' },
        { name: 'logs', mountPath: '/logs', readOnly: true },
      ]);
      // Kafka's listener and Prometheus's HTTP policy admit the shipper's pod.
      const kafka = find(withShipper, 'Kafka')[0];
      const peers = strimziListenerPolicy(kafka ?? {}, 'plain');
      expect(selects(peers['spec'].ingress[0].from[0].podSelector, pod.metadata.labels)).toBe(true);
      const http = find(withShipper, 'NetworkPolicy', 'weblog-pipeline-http')[0];
      expect(selects(http?.['spec'].podSelector, pod.metadata.labels)).toBe(true);
      // One nginx.conf: the component's copy is the file Compose mounts.
      expect(readFileSync(repoFile('k8s/components/log-shipper-sidecar/web/nginx.conf'), 'utf8')).toBe(
        readFileSync(repoFile('deploy/nginx/nginx.conf'), 'utf8'),
      );
    });

    it('carries the alert rules of observability/prometheus/alerts.yml, less the absent verifier', () => {
      const [rule] = find(objects, 'PrometheusRule');
      const groups = clone(readYaml<{ groups: { rules: K8sObject[] }[] }>('observability/prometheus/alerts.yml').groups);
      const absent = groups[0]?.rules.find((r) => r['alert'] === 'WeblogServiceAbsent');
      expect(absent?.['expr']).toContain(' or absent(up{service="verifier"})');
      if (absent) absent['expr'] = String(absent['expr']).replace(' or absent(up{service="verifier"})', '');
      expect(isDeepStrictEqual(rule?.['spec'].groups, groups)).toBe(true);
    });

    it('takes another kube-prometheus-stack release name from one patch in the overlay', () => {
      const renamed = overlayWith(tools, PRODUCTION, {
        patches: [
          {
            target: { group: 'monitoring.coreos.com' },
            patch: stringify([{ op: 'replace', path: '/metadata/labels/release', value: 'monitoring' }]),
          },
        ],
      });
      expect(monitoringProblems(renamed, 'monitoring')).toEqual([]);
      expect(monitoringProblems(renamed, RELEASE)).toHaveLength(3);
    });
  });

  describe('components/strimzi-restricted', () => {
    /** The operator Deployment as Strimzi's release YAML spells the fields the component touches. */
    const operator = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'strimzi-cluster-operator', labels: { app: 'strimzi' } },
      spec: {
        selector: { matchLabels: { name: 'strimzi-cluster-operator', 'strimzi.io/kind': 'cluster-operator' } },
        template: {
          metadata: { labels: { name: 'strimzi-cluster-operator', 'strimzi.io/kind': 'cluster-operator' } },
          spec: {
            serviceAccountName: 'strimzi-cluster-operator',
            containers: [
              {
                name: 'strimzi-cluster-operator',
                image: 'quay.io/strimzi/operator:1.2.0',
                env: [
                  { name: 'STRIMZI_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'STRIMZI_FULL_RECONCILIATION_INTERVAL_MS', value: '120000' },
                ],
              },
            ],
          },
        },
      },
    };

    function render(components: string[]): K8sObject[] {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'weblog-strimzi-'));
      try {
        const file = path.join(dir, 'operator.yaml');
        writeFileSync(file, stringify(operator));
        return buildScratch(tools, { resources: ['operator.yaml'], components }, { 'operator.yaml': file });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it('switches the Strimzi operator to the Restricted pod security provider and keeps its other settings', () => {
      const patched = render(['k8s/components/strimzi-restricted']);
      expect(strimziRestrictedProblems(patched)).toEqual([]);
      const env = find(patched, 'Deployment', 'strimzi-cluster-operator')[0]?.['spec'].template.spec.containers[0].env as K8sObject[];
      expect(env.map((v) => v['name']).sort()).toEqual([
        'STRIMZI_FULL_RECONCILIATION_INTERVAL_MS',
        'STRIMZI_NAMESPACE',
        'STRIMZI_POD_SECURITY_PROVIDER_CLASS',
      ]);
      expect(strimziRestrictedProblems(render([]))).toEqual(['STRIMZI_POD_SECURITY_PROVIDER_CLASS is unset, not restricted']);
    });
  });

  describe('observability/grafana', () => {
    const dashboard = (): K8sObject => JSON.parse(readFileSync(repoFile(DASHBOARD), 'utf8')) as K8sObject;

    it('takes the data source from a dashboard variable in every panel and query, so any Grafana can import it', () => {
      expect(dashboardDatasourceProblems(dashboard())).toEqual([]);
      const pinned = dashboard();
      pinned['panels'][1].targets[0].datasource = { type: 'prometheus', uid: 'weblog-prometheus' };
      expect(dashboardDatasourceProblems(pinned)).toEqual([
        `panel "${pinned['panels'][1].title}" query A uses {"type":"prometheus","uid":"weblog-prometheus"}`,
      ]);
      const variableless = dashboard();
      variableless['templating'].list = [];
      expect(dashboardDatasourceProblems(variableless)).toEqual(['0 prometheus data-source variables, not 1']);
    });

    it('resolves that variable in Compose’s Grafana: one default Prometheus provisioned', () => {
      const provisioning = readYaml<K8sObject>('observability/grafana/provisioning/datasources/prometheus.yml');
      expect(provisionedDatasourceProblems(provisioning)).toEqual([]);
      const noDefault = clone(provisioning);
      for (const source of noDefault['datasources'] as K8sObject[]) source['isDefault'] = false;
      expect(provisionedDatasourceProblems(noDefault)).toEqual(['0 default prometheus data sources, not 1']);
    });
  });
});
