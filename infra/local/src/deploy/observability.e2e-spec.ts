import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, isolatedTopics, uniqueName } from '@weblog/kafka-common/testing';
import { parse, stringify } from 'yaml';
import { DeployTools, prepareDeployTools } from '../deploy-tools';
import { prometheusRelease } from '../settings';
import { freePort, ServiceProcess } from '../supervisor';
import { AlertRule, alertRules, Dashboard, dashboardQueries, exportedNames, metricNames, readYaml, repoFile, run } from './deploy-checks';

const PROMETHEUS_CONFIG = 'observability/prometheus/prometheus.yml';
const ALERTS = 'observability/prometheus/alerts.yml';
const ALERT_TESTS = 'observability/prometheus/alerts.test.yml';
const DASHBOARD = 'observability/grafana/dashboards/weblog-pipeline.json';

/** Each service's `service` label, and the metric that shows its work has been scraped. */
const SERVICES = [
  { app: 'weblog-generator', service: 'generator', key: 'weblog_generator_records_acknowledged_total' },
  { app: 'transformer', service: 'transformer', key: 'weblog_transformer_records_transformed_total' },
  { app: 's3-archiver', service: 'archiver', key: 'weblog_archiver_records_consumed_total' },
  { app: 'verifier', service: 'verifier', key: 'weblog_verifier_records_verified_total' },
  { app: 'log-shipper', service: 'log-shipper', key: 'weblog_log_shipper_lines_shipped_total' },
];

/** A few access-log lines for the shipper to ship, so its counters have something to show. */
const ACCESS_LOG = Array.from(
  { length: 20 },
  (_, i) =>
    `198.51.100.${i} - - [01/Dec/2026:10:00:${String(i).padStart(2, '0')} +0000] "GET /page/${i} HTTP/1.1" 200 512 "-" "curl/8.5"\n`,
).join('');

describe('Prometheus configuration and alert rules (promtool)', () => {
  let tools: DeployTools;
  let promtool = '';

  beforeAll(async () => {
    tools = await prepareDeployTools();
    ({ promtool } = tools);
  });

  it('are the release docker-compose.yaml runs', () => {
    const release = prometheusRelease();
    const compose = readYaml<{ services: Record<string, { image?: string }> }>('docker-compose.yaml');
    expect(compose.services['prometheus']?.image).toBe(`prom/prometheus:${release}`);
    for (const tool of [promtool, tools.prometheus]) expect(run(tool, ['--version']).stdout).toContain(`version ${release.slice(1)} `);
  });

  it('accepts the scrape configuration and the rules', () => {
    const config = run(promtool, ['check', 'config', repoFile(PROMETHEUS_CONFIG)]);
    expect({ status: config.status, out: config.stdout + config.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
    const rules = run(promtool, ['check', 'rules', repoFile(ALERTS)]);
    expect({ status: rules.status, out: rules.stdout }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS: 7 rules found') });
  });

  it('proves each alert fires on the series it is meant for and stays quiet otherwise', () => {
    const tests = readYaml<{ tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }>(ALERT_TESTS);
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const quiet = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    const alerts = alertRules(readYaml<{ groups: { rules: AlertRule[] }[] }>(ALERTS).groups).map((rule) => rule.alert);
    expect([...fired].sort()).toEqual([...alerts].sort());
    expect([...quiet].sort()).toEqual([...alerts].sort());
    const result = run(promtool, ['test', 'rules', repoFile(ALERT_TESTS)]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
  });

  it('fails a rule test whose alert does not fire, so a passing run means something', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
    try {
      copyFileSync(repoFile(ALERTS), path.join(dir, 'alerts.yml'));
      // The lossy run's gap is closed before the alert's 5 minutes are up: no alert, yet one is expected.
      const healed = readFileSync(repoFile(ALERT_TESTS), 'utf8').replace('values: 0 2 2 2 2 2 2 2 2 2', 'values: 0 2 2 0 0 0 0 0 0 0');
      writeFileSync(path.join(dir, 'alerts.test.yml'), healed);
      const result = run(promtool, ['test', 'rules', path.join(dir, 'alerts.test.yml')]);
      expect(result.status).toBe(1);
      expect(result.stdout + result.stderr).toMatch(/WeblogVerifierMissingRecords/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the services under a real Prometheus', () => {
  let tools: DeployTools;
  const services: ServiceProcess[] = [];
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  let dir = '';
  let logDir = '';

  beforeAll(async () => {
    tools = await prepareDeployTools();
    const topics = isolatedTopics('observability');
    const id = uniqueName('observability');
    const shared = { ...topics.env, ARCHIVER_TOPICS_DIR: id, VERIFIER_ARCHIVE_TOPICS_DIR: id, S3_BUCKET: 'weblog-archive' };
    const consumers = await Promise.all([
      ServiceProcess.start('verifier', { ...shared, VERIFIER_GROUP_ID: `${id}-verifier` }),
      ServiceProcess.start('s3-archiver', { ...shared, ARCHIVER_GROUP_ID: `${id}-archiver`, ARCHIVER_ROTATE_INTERVAL_MS: '1000' }),
      ServiceProcess.start('transformer', { ...shared, TRANSFORMER_GROUP_ID: `${id}-transformer` }),
    ]);
    services.push(...consumers);
    await Promise.all(consumers.map((s) => s.ready()));
    const generator = await ServiceProcess.start('weblog-generator', { ...shared, GENERATOR_RATE: '50', GENERATOR_RUN_ID: id });
    services.push(generator);
    await generator.ready();
    logDir = mkdtempSync(path.join(tmpdir(), 'observability-logs-'));
    writeFileSync(path.join(logDir, 'access.log'), ACCESS_LOG);
    const shipper = await ServiceProcess.start('log-shipper', {
      ...shared,
      SHIPPER_FILES: `combined:${path.join(logDir, 'access.log')}`,
      SHIPPER_ID: id,
      SHIPPER_OFFSETS_TOPIC: `${id}-shipper-offsets`,
    });
    services.push(shipper);
    await shipper.ready();
  });

  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    await Promise.all(services.map((s) => s.kill()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  const byService = (name: string): ServiceProcess => {
    const app = SERVICES.find((s) => s.service === name)?.app;
    const found = services.find((s) => s.app === app);
    if (!found) throw new Error(`no running ${name}`);
    return found;
  };

  it('exports every metric the Grafana dashboard and the alert rules query', async () => {
    const dashboard = JSON.parse(readFileSync(repoFile(DASHBOARD), 'utf8')) as Dashboard;
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThanOrEqual(15);
    const exported = new Set<string>(['up']);
    for (const service of services) for (const name of exportedNames((await service.get('/metrics')).text)) exported.add(name);
    const rules = alertRules(readYaml<{ groups: { rules: AlertRule[] }[] }>(ALERTS).groups);
    const used = [
      ...queries.map((q) => ({ from: `panel "${q.panel}"`, expr: q.expr })),
      ...rules.map((r) => ({ from: `alert ${r.alert}`, expr: r.expr })),
    ];
    const unknown = used.flatMap(({ from, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${from}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // Every stage the issue names is on the dashboard.
    const text = JSON.stringify(queries);
    for (const needed of [
      'weblog_generator_records_acknowledged_total',
      'weblog_transformer_records_transformed_total',
      'weblog_archiver_records_archived_total',
      'weblog_verifier_records_verified_total',
      'consumer_lag_records',
      'objects_uploaded_total',
      'upload_retries_total',
      'run_missing_records',
      'run_duplicate_records',
      'end_to_end_latency_seconds_bucket',
    ]) {
      expect(text).toContain(needed);
    }
  });

  it("answers the image's healthcheck: 0 for a ready service, 1 for none or no PORT", async () => {
    const healthcheck = repoFile('libs/kafka-common/dist/healthcheck.js');
    const check = (env: Record<string, string>) => {
      const result = spawnSync(process.execPath, [healthcheck], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8' });
      return { status: result.status, stderr: result.stderr };
    };
    expect(check({ PORT: String(byService('transformer').port) })).toEqual({ status: 0, stderr: '' });
    expect(check({ PORT: String(await freePort()) })).toEqual({ status: 1, stderr: expect.stringContaining('healthcheck:') });
    expect(check({})).toEqual({ status: 1, stderr: expect.stringContaining('PORT must be') });
  });

  it('is scraped by Prometheus with the repository configuration, each service under its label', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'prometheus-'));
    // The repository's file with the compose host names replaced by the local ports, and a short interval.
    const config = parse(readFileSync(repoFile(PROMETHEUS_CONFIG), 'utf8')) as {
      global: Record<string, string>;
      scrape_configs: { static_configs: { targets: string[]; labels: { service: string } }[] }[];
    };
    config.global['scrape_interval'] = '1s';
    config.global['evaluation_interval'] = '1s';
    for (const job of config.scrape_configs)
      for (const group of job.static_configs) group.targets = [`127.0.0.1:${byService(group.labels.service).port}`];
    writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
    copyFileSync(repoFile(ALERTS), path.join(dir, 'alerts.yml'));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      tools.prometheus,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result;
    };
    await eventually(async () => ((await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 60000, 250);

    for (const { service, key } of SERVICES) {
      const [sample] = await eventually(
        async () => {
          const result = await query(`${key}{service="${service}"} > 0`);
          return result.length > 0 ? result : undefined;
        },
        90000,
        500,
      );
      expect(sample?.metric).toMatchObject({ service, job: 'weblog' });
      const [up] = await query(`up{service="${service}"}`);
      expect(up?.value[1]).toBe('1');
    }

    // The alert rules loaded and evaluate without error against live data.
    const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string }[] }[] };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded).toHaveLength(7);
    await eventually(
      async () => {
        const current = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as typeof rules;
        const all = current.data.groups.flatMap((g) => g.rules);
        return all.every((r) => r.health === 'ok') ? true : undefined;
      },
      30000,
      500,
    );
  });
});
