import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEAD_LETTER_TOPIC_DEFAULT, InputTopic, OutputTopic, ReprocessedTopic } from '@weblog/kafka-common';
import { parse } from 'yaml';
import { prepareDeployTools } from '../deploy-tools';
import { VERSITYGW_IMAGE } from '../compose-s3-server';
import { kafkaVersion } from '../settings';
import { serviceArgs } from '../supervisor';
import {
  Compose,
  ComposeService,
  credentialProblems,
  externalListenerProblems,
  kafkaLogDirProblems,
  monitoringWaitsFor,
  mounts,
  portsNotOnLoopback,
  publishedPorts,
} from './compose-checks';
import { readYaml, repoFile, repoRoot, run } from './deploy-checks';

/** A copy of the model with one service changed: the negative controls of the checks below. */
function altered(compose: Compose, name: string, change: Partial<ComposeService>): Compose {
  return { ...compose, services: { ...compose.services, [name]: { ...compose.services[name], ...change } } };
}

const S3_ADMIN_VOLUME = 's3-admin-credentials';

const APPS: Record<string, { script: string; service: string }> = {
  'weblog-generator': { script: 'apps/weblog-generator/dist/main.js', service: 'generator' },
  transformer: { script: 'apps/transformer/dist/main.js', service: 'transformer' },
  's3-archiver': { script: 'apps/s3-archiver/dist/main.js', service: 'archiver' },
  verifier: { script: 'apps/verifier/dist/main.js', service: 'verifier' },
  'log-shipper': { script: 'apps/log-shipper/dist/main.js', service: 'log-shipper' },
};

/** docker-compose.yaml as `docker compose config` resolves it, with the same library (no Docker engine needed). */
describe('docker-compose.yaml', () => {
  let compose: Compose;
  let composeConfig = '';

  beforeAll(async () => {
    ({ composeConfig } = await prepareDeployTools());
    const resolved = run(composeConfig, ['--file', repoFile('docker-compose.yaml')]);
    expect({ status: resolved.status, stderr: resolved.stderr }).toEqual({ status: 0, stderr: '' });
    compose = parse(resolved.stdout) as Compose;
  });

  it('is rejected when it is broken, so a passing check means something', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'compose-'));
    const broken = readFileSync(repoFile('docker-compose.yaml'), 'utf8').replace(
      'kafka-topics: { condition: service_completed_successfully }',
      'kafka-topic: { condition: service_completed_successfully }',
    );
    writeFileSync(path.join(dir, 'docker-compose.yaml'), broken);
    const result = run(composeConfig, ['--file', path.join(dir, 'docker-compose.yaml')]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/kafka-topic/);
  });

  it('gives every service a healthcheck', () => {
    const unchecked = Object.entries(compose.services)
      .filter(([, service]) => !service.healthcheck?.test || service.healthcheck.disable)
      .map(([name]) => name);
    expect(unchecked).toEqual([]);
  });

  it('starts nothing before what it needs is healthy, or has finished for one-shot jobs', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency]).toBeDefined();
        const oneShot = compose.services[dependency]?.restart === 'no';
        expect({ name, dependency, condition }).toEqual({
          name,
          dependency,
          condition: oneShot ? 'service_completed_successfully' : 'service_healthy',
        });
      }
    }
    // The services wait for their topics and the bucket.
    expect(compose.services['transformer']?.depends_on?.['kafka-topics']).toMatchObject({ condition: 'service_completed_successfully' });
    for (const name of ['s3-archiver', 'verifier']) {
      expect(compose.services[name]?.depends_on?.['s3-bucket']).toMatchObject({ condition: 'service_completed_successfully' });
    }
  });

  it('runs the five services from one image built here, each from its compiled entry point', () => {
    for (const [name, { script }] of Object.entries(APPS)) {
      const service = compose.services[name];
      // Node's options first, the same as the local launcher's.
      expect(service).toMatchObject({ image: 'weblog-pipeline:local', command: serviceArgs(name) });
      expect(serviceArgs(name).at(-1)).toBe(script);
      expect(service?.build).toMatchObject({ dockerfile: 'Dockerfile' });
      // The script is what `nx build` produces.
      expect(() => repoFile(script)).not.toThrow();
    }
  });

  it('runs the same Kafka release as the local launcher and creates every pipeline topic', () => {
    expect(compose.services['kafka']?.image).toBe(`apache/kafka:${kafkaVersion()}`);
    expect(compose.services['kafka-topics']?.image).toBe(`apache/kafka:${kafkaVersion()}`);
    expect(compose.services['kafka']?.environment?.['KAFKA_AUTO_CREATE_TOPICS_ENABLE']).toBe('false');
    const script = JSON.stringify(compose.services['kafka-topics']?.command);
    for (const topic of [InputTopic.defaultName, OutputTopic.defaultName, ReprocessedTopic.defaultName, DEAD_LETTER_TOPIC_DEFAULT]) {
      expect(script).toContain(topic);
    }
  });

  it('writes no credential: secrets are read from files that a job generates at first start', () => {
    const secretish = /PASSWORD|SECRET|ACCESS_KEY|TOKEN/;
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (secretish.test(variable))
          expect({ name, variable, value }).toEqual({ name, variable, value: expect.stringMatching(/^\/credentials\//) });
      }
    }
    expect(compose.services['s3-archiver']?.environment?.['AWS_SHARED_CREDENTIALS_FILE']).toBe('/credentials/aws-credentials');
  });

  it('has Prometheus scrape each service on the port it listens on, under its service label', () => {
    const prometheus = readYaml<{ scrape_configs: { static_configs: { targets: string[]; labels: { service: string } }[] }[] }>(
      'observability/prometheus/prometheus.yml',
    );
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs);
    const expected = Object.entries(APPS).map(([name, { service }]) => ({
      targets: [`${name}:${compose.services[name]?.environment?.['PORT']}`],
      labels: { service },
    }));
    expect(targets).toEqual(expected);
  });

  it('runs the S3 gateway release the local launcher builds and tests, for the server and its admin tool', () => {
    expect(compose.services['s3']?.image).toBe(VERSITYGW_IMAGE);
    expect(compose.services['s3-users']?.image).toBe(VERSITYGW_IMAGE);
    expect(compose.services['s3-archiver']?.environment?.['S3_ENDPOINT']).toBe('http://s3:7070');
  });

  it("keeps Kafka's log dirs on its volume, so a restarted stack finds its topics beside its archive", () => {
    expect(compose.services['kafka']?.environment?.['KAFKA_LOG_DIRS']).toBe('/var/lib/kafka/data');
    expect(kafkaLogDirProblems(compose)).toEqual([]);
    const kafka = compose.services['kafka'];
    const elsewhere = altered(compose, 'kafka', { environment: { ...kafka.environment, KAFKA_LOG_DIRS: '/tmp/kraft-combined-logs' } });
    expect(kafkaLogDirProblems(elsewhere)).toEqual([expect.stringContaining('/tmp/kraft-combined-logs')]);
    const { KAFKA_LOG_DIRS: _unset, ...defaults } = kafka.environment ?? {};
    expect(kafkaLogDirProblems(altered(compose, 'kafka', { environment: defaults }))).toEqual([expect.stringContaining('not set')]);
  });

  it('publishes every port on 127.0.0.1 only, Kafka and S3 included for tools on the host', () => {
    expect(portsNotOnLoopback(compose)).toEqual([]);
    expect(publishedPorts(compose.services['kafka'])).toEqual([{ hostIp: '127.0.0.1', published: '9094', target: 9094 }]);
    expect(publishedPorts(compose.services['s3'])).toEqual([{ hostIp: '127.0.0.1', published: '7070', target: 7070 }]);
    const everywhere = altered(compose, 'kafka', { ports: [{ target: 9094, published: '9094' }] });
    expect(portsNotOnLoopback(everywhere)).toEqual([expect.stringContaining('kafka')]);
  });

  it('advertises to the host the Kafka listener on the port it publishes, and kafka:9092 to containers', () => {
    const kafka = compose.services['kafka'];
    expect(externalListenerProblems(compose)).toEqual([]);
    expect(kafka.environment?.['KAFKA_ADVERTISED_LISTENERS']).toContain('PLAINTEXT://kafka:9092');
    expect(compose.services['s3-archiver']?.environment?.['KAFKA_BROKERS']).toBe('kafka:9092');
    const advertised = kafka.environment?.['KAFKA_ADVERTISED_LISTENERS'] ?? '';
    const wrongPort = altered(compose, 'kafka', {
      environment: { ...kafka.environment, KAFKA_ADVERTISED_LISTENERS: advertised.replace('localhost:9094', 'localhost:29094') },
    });
    expect(externalListenerProblems(wrongPort)).toEqual([expect.stringContaining('29094')]);
    const wrongHost = altered(compose, 'kafka', {
      environment: { ...kafka.environment, KAFKA_ADVERTISED_LISTENERS: advertised.replace('localhost:9094', 'kafka:9094') },
    });
    expect(externalListenerProblems(wrongHost)).toEqual([expect.stringContaining('kafka')]);
  });

  it('starts Prometheus and Grafana without waiting for the pipeline, so they can show why it is down', () => {
    const pipeline = [...Object.keys(APPS), 'kafka', 'kafka-topics', 's3', 's3-users', 's3-bucket'];
    expect(monitoringWaitsFor(compose, ['prometheus', 'grafana'], pipeline)).toEqual([]);
    // Grafana waits for Prometheus, so it would wait for whatever Prometheus waits for.
    const waiting = altered(compose, 'prometheus', { depends_on: { kafka: { condition: 'service_healthy' } } });
    expect(monitoringWaitsFor(waiting, ['prometheus', 'grafana'], pipeline)).toEqual([
      'prometheus waits for kafka',
      'grafana waits for kafka',
    ]);
  });

  it("gives each service S3 credentials of its own, and none the S3 admin's", () => {
    expect(credentialProblems(compose, S3_ADMIN_VOLUME)).toEqual([]);
    // The check names the volume the gateway really reads its root identity from.
    expect(mounts(compose.services['s3'])).toContainEqual(expect.objectContaining({ source: S3_ADMIN_VOLUME, target: '/credentials' }));
    const archiver = compose.services['s3-archiver'];
    const verifier = compose.services['verifier'];
    const sharing = altered(compose, 'verifier', { volumes: archiver.volumes });
    expect(credentialProblems(sharing, S3_ADMIN_VOLUME)).toEqual(expect.arrayContaining([expect.stringContaining('archiver-credentials')]));
    const admin = altered(compose, 'verifier', { volumes: [...(verifier.volumes ?? []), `${S3_ADMIN_VOLUME}:/admin:ro`] });
    expect(credentialProblems(admin, S3_ADMIN_VOLUME)).toEqual([`verifier mounts the S3 admin credentials (${S3_ADMIN_VOLUME})`]);
  });

  it('creates the bucket the services use, with a policy that names the identities the credentials job writes', () => {
    const bucket = compose.services['s3-archiver']?.environment?.['S3_BUCKET'] ?? '';
    expect(compose.services['verifier']?.environment?.['S3_BUCKET']).toBe(bucket);
    expect(JSON.stringify(compose.services['s3-bucket']?.command)).toContain(`--bucket ${bucket}`);
    const policy = JSON.parse(readFileSync(repoFile('s3/archive-bucket-policy.json'), 'utf8')) as {
      Statement: { Principal: { AWS: string[] }; Resource: string[] }[];
    };
    const credentialsJob = JSON.stringify(compose.services['credentials']?.command);
    for (const statement of policy.Statement) {
      for (const principal of statement.Principal.AWS)
        expect({ principal, written: credentialsJob.includes(principal) }).toEqual({ principal, written: true });
      for (const resource of statement.Resource) expect(resource).toMatch(new RegExp(`^arn:aws:s3:::${bucket}(/\\*)?$`));
    }
  });

  it('keeps the image build context free of local state', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.weblog']) expect(ignored).toContain(entry);
  });
});
