import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEAD_LETTER_TOPIC_DEFAULT, InputTopic, OutputTopic, ReprocessedTopic } from '@weblog/kafka-common';
import { parse } from 'yaml';
import { requireCommand } from '../deploy-tools';
import { kafkaVersion } from '../settings';
import { readYaml, repoFile, repoRoot, run } from './deploy-checks';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  restart?: string;
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
}

interface Compose {
  services: Record<string, ComposeService>;
}

const APPS: Record<string, { script: string; service: string }> = {
  'weblog-generator': { script: 'apps/weblog-generator/dist/main.js', service: 'generator' },
  transformer: { script: 'apps/transformer/dist/main.js', service: 'transformer' },
  's3-archiver': { script: 'apps/s3-archiver/dist/main.js', service: 'archiver' },
  verifier: { script: 'apps/verifier/dist/main.js', service: 'verifier' },
};

/** docker-compose.yaml as Debian's docker-compose resolves it (no Docker engine needed). */
describe('docker-compose.yaml', () => {
  let compose: Compose;
  const dockerCompose = requireCommand('docker-compose');

  beforeAll(() => {
    const resolved = run(dockerCompose, ['--file', repoFile('docker-compose.yaml'), 'config']);
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
    const result = run(dockerCompose, ['--file', path.join(dir, 'docker-compose.yaml'), 'config', '--quiet']);
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
    expect(compose.services['transformer']?.depends_on?.['kafka-topics']).toEqual({ condition: 'service_completed_successfully' });
    expect(compose.services['s3-archiver']?.depends_on?.['minio-bucket']).toEqual({ condition: 'service_completed_successfully' });
  });

  it('runs the four services from one image built here, each from its compiled entry point', () => {
    for (const [name, { script }] of Object.entries(APPS)) {
      const service = compose.services[name];
      expect(service).toMatchObject({ image: 'weblog-pipeline:local', command: [script] });
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

  it('keeps the image build context free of local state', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.git', '.weblog']) expect(ignored).toContain(entry);
  });
});
