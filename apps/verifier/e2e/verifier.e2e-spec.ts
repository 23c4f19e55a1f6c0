import { Kafka, Producer } from 'kafkajs';
import { parseVerificationReport, PipelineHeaders } from '@weblog/kafka-common';
import { aTransformedWebLog, eventually, isolatedTopics, produceJson, testKafka, uniqueName } from '@weblog/kafka-common/testing';
import { freePort, ServiceProcess } from '@weblog/local-infra';

/** Runs of `count` records each, as a transformer would have written them. */
const runRecords = (runId: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    key: `198.51.100.${i % 5}`,
    value: aTransformedWebLog(),
    headers: {
      [PipelineHeaders.runId]: runId,
      [PipelineHeaders.sequence]: String(i + 1),
      [PipelineHeaders.producedAt]: String(Date.now()),
    },
  }));

/** The run labels of one metric in a Prometheus exposition. */
const runLabels = (exposition: string, metric: string): string[] =>
  exposition
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`))
    .map((line) => /run="([^"]+)"/.exec(line)?.[1] ?? '')
    .sort();

describe('verifier as an operator runs it', () => {
  let kafka: Kafka;
  let producer: Producer;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('verifier-e2e');
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await producer.disconnect();
  });

  async function start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start('verifier', { LOG_LEVEL: 'log', ...env });
    services.push(service);
    await service.ready();
    return service;
  }

  it('keeps per-run series for the most recent runs only, while /report keeps every run', async () => {
    const topics = isolatedTopics('verifier-runs');
    const verifier = await start({ ...topics.env, VERIFIER_GROUP_ID: uniqueName('verifier'), VERIFIER_METRICS_RUNS: '2' });
    const runs = ['run-a', 'run-b', 'run-c'];
    // One run after another, each seen by the verifier before the next starts, so "most recent" is defined.
    for (const run of runs) {
      await produceJson(producer, topics.output, runRecords(run, 20));
      await eventually(async () => {
        const report = parseVerificationReport((await verifier.get('/report')).text);
        return report.runs.find((r) => r.runId === run)?.unique === 20 ? true : undefined;
      });
    }
    const metrics = (await verifier.get('/metrics')).text;
    for (const metric of [
      'weblog_verifier_run_missing_records',
      'weblog_verifier_run_duplicate_records',
      'weblog_verifier_run_unique_records',
    ]) {
      expect({ metric, runs: runLabels(metrics, metric) }).toEqual({ metric, runs: ['run-b', 'run-c'] });
    }
    const report = parseVerificationReport((await verifier.get('/report')).text);
    expect(report.runs.map((r) => r.runId).sort()).toEqual(runs);
  });

  it('answers POST /audit with 404 and says so in one line unless the audit is enabled', async () => {
    const topics = isolatedTopics('verifier-audit-off');
    const verifier = await start({ ...topics.env, VERIFIER_GROUP_ID: uniqueName('verifier') });
    const response = await fetch(`${verifier.url}/audit`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('VERIFIER_AUDIT_ENABLED=true');
    expect(verifier.logs).toContain('S3 audit off');

    const enabled = await start({ ...topics.env, VERIFIER_GROUP_ID: uniqueName('verifier'), VERIFIER_AUDIT_ENABLED: 'true' });
    const audit = await fetch(`${enabled.url}/audit`, { method: 'POST' });
    expect(audit.status).toBe(200);
    expect(enabled.logs).toContain('S3 audit on');
  });

  it('binds its HTTP server to HTTP_HOST and nowhere else', async () => {
    const topics = isolatedTopics('verifier-bind');
    // Any 127/8 address is this machine's loopback; binding one proves the setting is used.
    const port = await freePort();
    const verifier = await ServiceProcess.start(
      'verifier',
      { ...topics.env, VERIFIER_GROUP_ID: uniqueName('verifier'), HTTP_HOST: '127.0.0.2' },
      { port },
    );
    services.push(verifier);
    const bound = await eventually(async () => {
      const response = await fetch(`http://127.0.0.2:${port}/health/live`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, 60000);
    expect(bound).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });
});
