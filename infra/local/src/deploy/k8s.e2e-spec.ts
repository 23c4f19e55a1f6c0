/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   Rendered manifests are untyped YAML; the assertions below are their type checks. */
import { isDeepStrictEqual } from 'node:util';
import { DeployTools, prepareDeployTools } from '../deploy-tools';
import { kafkaVersion } from '../settings';
import { readYaml, repoFile, run, yamlDocuments } from './deploy-checks';

type K8sObject = Record<string, any>;

const OVERLAYS = ['k8s/overlays/local', 'k8s/overlays/production'];
const SERVICES = ['weblog-generator', 'transformer', 's3-archiver', 'verifier'];
/** The apps' default consumer groups (TRANSFORMER_GROUP_ID, ARCHIVER_GROUP_ID), which KEDA watches. */
const CONSUMER_GROUPS: Record<string, string> = { transformer: 'weblog-transformer', 's3-archiver': 'weblog-s3-archiver' };

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

const find = (objects: K8sObject[], kind: string, name?: string): K8sObject[] =>
  objects.filter((o) => o['kind'] === kind && (name === undefined || o['metadata']?.name === name));

const selects = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('k8s/', () => {
  let tools: DeployTools;
  const rendered = new Map<string, string>();

  beforeAll(async () => {
    tools = await prepareDeployTools();
    for (const overlay of OVERLAYS) {
      const build = run(tools.kustomize, ['build', repoFile(overlay)]);
      expect({ overlay, status: build.status, stderr: build.stderr }).toEqual({ overlay, status: 0, stderr: '' });
      rendered.set(overlay, build.stdout);
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
      Kafka: 'strimzi-kafka.yaml',
      KafkaNodePool: 'strimzi-kafkanodepool.yaml',
      KafkaTopic: 'strimzi-kafkatopic.yaml',
      ScaledObject: 'keda.sh_scaledobjects.yaml',
      ServiceMonitor: 'monitoring.coreos.com_servicemonitors.yaml',
      PrometheusRule: 'monitoring.coreos.com_prometheusrules.yaml',
    });
  });

  it('rejects unknown fields and wrong types, in built-in kinds and custom resources alike', () => {
    const text = rendered.get('k8s/overlays/production') ?? '';
    const mutations: [string, string, string][] = [
      ['Kafka', 'metadataVersion', text.replace('    version: 4.3.1', '    version: 4.3.1\n    metdataVersion: 4.3-IV0')],
      ['KafkaTopic', 'partitions', text.replace('partitions: 6', 'partitions: six')],
      ['ScaledObject', 'maxReplicaCount', text.replace('maxReplicaCount: 6', 'maxReplicaCount: "many"')],
      ['Deployment', 'readOnlyRootFilesystem', text.replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true')],
      ['PodDisruptionBudget', 'maxUnavailable', text.replace('maxUnavailable: 1', 'maxUnavailabel: 1')],
    ];
    for (const [kind, field, mutated] of mutations) {
      expect(mutated).not.toBe(text);
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

    it.each(SERVICES)('runs %s hardened, probed, bounded, configured and disruption-budgeted', (name) => {
      const [deployment] = find(objects, 'Deployment', name);
      expect(deployment).toBeDefined();
      const pod = deployment?.['spec'].template.spec;
      const [container] = pod.containers;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
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
          expect(variable['valueFrom']?.secretKeyRef?.name).toBe('weblog-s3-credentials');
      }
      const podLabels = deployment?.['spec'].template.metadata.labels;
      const [service] = find(objects, 'Service').filter((s) => selects(s['spec'].selector, podLabels));
      expect(service?.['spec'].ports).toEqual([expect.objectContaining({ name: 'http', targetPort: 'http' })]);
      expect(find(objects, 'PodDisruptionBudget').filter((p) => selects(p['spec'].selector.matchLabels, podLabels))).toHaveLength(1);
      // The ServiceMonitor scrapes that Service's http port.
      const [monitor] = find(objects, 'ServiceMonitor');
      expect(selects(monitor?.['spec'].selector.matchLabels, service?.['metadata'].labels)).toBe(true);
      expect(monitor?.['spec'].endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
    });

    it('gives the S3 credentials only to the services that use S3', () => {
      for (const name of SERVICES) {
        const env = (find(objects, 'Deployment', name)[0]?.['spec'].template.spec.containers[0].env ?? []) as K8sObject[];
        const usesS3 = name === 's3-archiver' || name === 'verifier';
        expect({ name, credentials: env.some((v) => v['name'] === 'AWS_SECRET_ACCESS_KEY') }).toEqual({ name, credentials: usesS3 });
      }
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
      const [configMap] = find(objects, 'ConfigMap');
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

    it('carries the same alert rules as observability/prometheus/alerts.yml', () => {
      const [rule] = find(objects, 'PrometheusRule');
      const groups = readYaml<{ groups: unknown }>('observability/prometheus/alerts.yml').groups;
      expect(isDeepStrictEqual(rule?.['spec'].groups, groups)).toBe(true);
    });
  });
});
