import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { Kafka } from 'kafkajs';
import { parseAuditReport, parseEnv, parseVerificationReport, s3EnvShape, serviceEnv } from '@weblog/kafka-common';
import {
  caughtUp,
  consumeAll,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { DebianTools, freePort, prepareDebianTools, ServiceProcess, SupervisedProcess as WatchedProcess } from '@weblog/local-infra';
import { ArchiveStore, createS3Client, listArchive, readArchiveObject } from '@weblog/s3-archive';

/** Requests per phase: before the rotation, between rotation and reopen, around the shipper's SIGKILL, after its restart. */
const PHASES = [900, 400, 900, 800] as const;
const REQUESTS = PHASES.reduce((a, b) => a + b, 0);

const STATUSES = [200, 200, 200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 404, 405, 410, 418, 429, 500, 502, 503, 504];
const METHODS = [
  'GET',
  'GET',
  'GET',
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'PURGE',
];
const AGENTS: (string | undefined)[] = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'curl/8.5.0',
  undefined,
  '',
  'Agent "with quotes" and \\backslash\\',
  'Bot 🤖/1.0 (𝔘𝔫𝔦𝔠𝔬𝔡𝔢; café)',
  `LongAgent/${'x'.repeat(1500)}`,
  "O'Reilly; <script>alert(1)</script>",
];

interface Planned {
  readonly path: string;
  readonly agent: string | undefined;
  readonly referer: boolean;
}

interface Sent {
  readonly id: string;
  readonly method: string;
  readonly status: number;
  readonly ipv6: boolean;
}

/** What the test asks nginx: every kind of request a web server sees, each with a unique id in its query string. */
function requestPlan(token: string, ipv6Loopback: boolean, port: number): (Sent & Planned)[] {
  return Array.from({ length: REQUESTS }, (_, i) => {
    const id = `req${i}x${token}`;
    const status = STATUSES[i % STATUSES.length] ?? 200;
    const method = METHODS[(i * 7) % METHODS.length] ?? 'GET';
    const ipv6 = ipv6Loopback && i % 5 === 0;
    const segment = ['', '/caf%C3%A9/%E2%9C%93', '/a/b/../c', '/with%20space/and+plus', '/x.php'][i % 5] ?? '';
    const long = i % 41 === 0 ? `&pad=${'a1B2-_.~'.repeat(500 + (i % 200))}` : '';
    const query = `?id=${id}&q=caf%C3%A9+au+lait&sort=-date&empty=&quote=%22x%22&arr[]=1${long}`;
    const relative = `/s/${status}${segment}${query}`;
    // A proxy-style absolute-form request line now and then.
    const target = i % 53 === 0 && !ipv6 ? `http://localhost:${port}${relative}` : relative;
    return { id, method, status, ipv6, path: target, agent: AGENTS[i % AGENTS.length], referer: i % 3 === 0 };
  });
}

function nginxConfig(dir: string, port: number, ipv6: boolean): string {
  const field = (name: string, variable: string) => `"${name}":"$${variable}"`;
  const json = [
    field('remote_addr', 'remote_addr'),
    field('time_iso8601', 'time_iso8601'),
    field('request_method', 'request_method'),
    field('request_uri', 'request_uri'),
    field('status', 'status'),
    field('http_user_agent', 'http_user_agent'),
    field('body_bytes_sent', 'body_bytes_sent'),
    field('http_referer', 'http_referer'),
    field('server_protocol', 'server_protocol'),
    field('host', 'host'),
    field('request_time', 'request_time'),
  ].join(',');
  const locations = [...new Set(STATUSES)]
    .map((status) => {
      const body = status >= 300 && status < 400 && status !== 304 ? ' /moved' : status === 204 || status === 304 ? '' : ` "${status}\\n"`;
      return `    location /s/${status} { return ${status}${body}; }`;
    })
    .join('\n');
  // As root, the master would hand the workers to `nobody`: keep them the user who runs the test.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
  return `${user}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  large_client_header_buffers 4 16k;
  log_format weblog_json escape=json '{${json}}';
  access_log ${dir}/logs/combined.log combined;
  access_log ${dir}/logs/json.log weblog_json;
  server {
    listen 127.0.0.1:${port};
${ipv6 ? `    listen [::1]:${port};\n` : ''}    server_name localhost;
${locations}
    location / { return 200 "ok\\n"; }
  }
}
`;
}

class Nginx {
  private constructor(
    private readonly tools: DebianTools,
    private readonly args: string[],
    readonly process: WatchedProcess,
  ) {}

  static async start(tools: DebianTools, dir: string, port: number, ipv6: boolean): Promise<Nginx> {
    for (const sub of ['logs', 'temp']) mkdirSync(path.join(dir, sub), { recursive: true });
    const conf = path.join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(dir, port, ipv6));
    // -e: the compiled-in error log is the system's; -p: so is the prefix.
    const args = ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')];
    const nginx = new Nginx(tools, args, WatchedProcess.spawn('nginx', tools.nginx, args, tools.env));
    // A bare connection, no request: a readiness probe must not write an access-log line.
    const listening = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ host, port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    await eventually(async () => {
      if (!nginx.process.running) throw new Error(`nginx exited:\n${nginx.process.logs}${readIfExists(path.join(dir, 'error.log'))}`);
      const up = (await listening('127.0.0.1')) && (!ipv6 || (await listening('::1')));
      return up ? true : undefined;
    }, 20000);
    return nginx;
  }

  /** `nginx -s reopen`: what logrotate's postrotate runs after renaming the logs. */
  reopen(): void {
    const result = spawnSync(this.tools.nginx, [...this.args, '-s', 'reopen'], {
      env: { ...process.env, ...this.tools.env },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`nginx -s reopen failed: ${result.stderr}`);
  }
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Lines in the given files of the log directory. */
function linesLogged(dir: string, ...names: string[]): number {
  return names.reduce((sum, name) => sum + readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean).length, 0);
}

/** One request as the client sends it: raw method, raw target, the agent's UTF-8 bytes, or no agent at all. */
function send(agent: Agent, port: number, plan: Sent & Planned): Promise<number> {
  const body = ['POST', 'PUT', 'PATCH', 'PROPFIND', 'PROPPATCH', 'LOCK'].includes(plan.method) ? `{"id":"${plan.id}"}` : undefined;
  const headers: Record<string, string> = {};
  // Node writes header values as Latin-1: the UTF-8 bytes of the agent, one character each, reach nginx as UTF-8.
  if (plan.agent !== undefined) headers['User-Agent'] = Buffer.from(plan.agent, 'utf8').toString('latin1');
  if (body) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  if (plan.method === 'COPY' || plan.method === 'MOVE') headers['Destination'] = '/copied';
  if (plan.referer) headers['Referer'] = 'https://www.example.com/page?from=%22search%22';
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: plan.ipv6 ? '::1' : '127.0.0.1', port, method: plan.method, path: plan.path, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    // A Buffer, not a string: Node writes the headers with a string body's encoding (UTF-8), which
    // would encode the agent's Latin-1 characters a second time.
    req.end(body === undefined ? undefined : Buffer.from(body, 'utf8'));
  });
}

async function sendAll(agent: Agent, port: number, plans: readonly (Sent & Planned)[]): Promise<void> {
  let next = 0;
  const mismatches: string[] = [];
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < plans.length) {
        const plan = plans[next++];
        if (!plan) break;
        const status = await send(agent, port, plan);
        if (status !== plan.status) mismatches.push(`${plan.method} ${plan.path.slice(0, 80)}: ${status}, not ${plan.status}`);
      }
    }),
  );
  expect(mismatches).toEqual([]);
}

/** The request id in an upper-cased URL. */
function idOf(url: unknown): string | undefined {
  return typeof url === 'string' ? /[?&]ID=(REQ\d+X[0-9A-F]+)(&|$)/.exec(url)?.[1] : undefined;
}

/** Per id and log format (JSON lines carry `host`, combined ones do not), how many records. */
function countByIdAndFormat(values: readonly Record<string, unknown>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) {
    const key = `${idOf(value['url']) ?? `no id in ${String(value['url']).slice(0, 120)}`} ${'host' in value ? 'json' : 'combined'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const hasIpv6Loopback = (): boolean =>
  Object.values(networkInterfaces())
    .flat()
    .some((address) => address?.address === '::1');

/**
 * A real nginx from Debian's packages on loopback writes its own access logs, combined and JSON;
 * a few thousand varied requests, a rotation of both logs (rename, then `nginx -s reopen`) and a
 * SIGKILL of the shipper in the middle; every request's two lines must reach the output topic
 * upper-cased exactly once, and S3 exactly once, with the verifier counting every shipped file whole.
 */
describe('nginx access logs through the whole pipeline', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  let tools: DebianTools;
  let dir: string;
  let nginx: Nginx | undefined;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    tools = await prepareDebianTools((line) => process.stderr.write(`${line}\n`));
    kafka = testKafka('nginx-e2e');
    admin = highWatermarkAdmin(kafka);
    await admin.connect();
    dir = mkdtempSync(path.join(tmpdir(), 'weblog-nginx-'));
  }, 300000);

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
    await nginx?.process.stop();
  });

  afterAll(async () => {
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(app: string, env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(app, env);
    services.push(service);
    return service;
  }

  it('ships every line of a few thousand requests exactly once across a log rotation and a shipper SIGKILL, into the output topic and S3', async () => {
    const ipv6 = hasIpv6Loopback();
    const port = await freePort();
    nginx = await Nginx.start(tools, dir, port, ipv6);
    const logs = path.join(dir, 'logs');
    const token = uniqueName('n').split('-').at(-1) ?? 'ffffffff';
    const plan = requestPlan(token, ipv6, port);
    const httpAgent = new Agent({ keepAlive: true, maxSockets: 12 });

    const topics = isolatedTopics('nginx');
    const id = uniqueName('nginx');
    const shared = { ...topics.env, ARCHIVER_TOPICS_DIR: id, VERIFIER_ARCHIVE_TOPICS_DIR: id, S3_BUCKET: 'weblog-archive' };
    const verifier = await start('verifier', { ...shared, VERIFIER_GROUP_ID: `${id}-verifier`, VERIFIER_AUDIT_ENABLED: 'true' });
    const archiver = await start('s3-archiver', { ...shared, ARCHIVER_GROUP_ID: `${id}-archiver`, ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
    const transformer = await start('transformer', {
      ...shared,
      TRANSFORMER_MODE: 'exactly-once',
      TRANSFORMER_GROUP_ID: `${id}-transformer`,
      TRANSFORMER_TRANSACTIONAL_ID_PREFIX: id,
    });
    // The globs take in the rotated files too, as a logrotate setup must: lines nginx writes to a
    // renamed log before it reopens are still shipped.
    const shipperEnv = {
      ...shared,
      SHIPPER_FILES: `combined:${logs}/combined.log*,json:${logs}/json.log*`,
      SHIPPER_ID: id,
      SHIPPER_OFFSETS_TOPIC: `${id}-shipper-offsets`,
      // Small transactions, so the SIGKILL lands between and inside many of them.
      SHIPPER_BATCH_LINES: '40',
      SHIPPER_POLL_INTERVAL_MS: '100',
    };
    // The shipper after the others: they create the pipeline's topics, and a topic another service
    // is still creating fails the shipper's first send.
    await Promise.all([verifier.ready(), archiver.ready(), transformer.ready()]);
    let shipper = await start('log-shipper', shipperEnv);
    await shipper.ready();
    const shipped = async () => metricValue((await shipper.get('/metrics')).text, 'weblog_log_shipper_lines_shipped_total');

    const [first, second, third, fourth] = PHASES;
    let from = 0;
    const phase = (count: number) => plan.slice(from, (from += count));
    await sendAll(httpAgent, port, phase(first));
    await eventually(async () => ((await shipped()) >= first ? true : undefined), 60000);

    // Rotation: rename both logs; nginx keeps writing to the renamed files until it reopens.
    renameSync(path.join(logs, 'combined.log'), path.join(logs, 'combined.log.1'));
    renameSync(path.join(logs, 'json.log'), path.join(logs, 'json.log.1'));
    await sendAll(httpAgent, port, phase(second));
    expect(linesLogged(logs, 'combined.log.1')).toBe(first + second);
    expect(linesLogged(logs, 'json.log.1')).toBe(first + second);
    nginx.reopen();
    await eventually(
      () => (existsSync(path.join(logs, 'combined.log')) && existsSync(path.join(logs, 'json.log')) ? true : undefined),
      10000,
    );

    // SIGKILL while lines are coming in and being shipped, then a restart with the same id.
    const before = await shipped();
    const during = sendAll(httpAgent, port, phase(third));
    await eventually(async () => ((await shipped()) >= before + 300 ? true : undefined), 60000);
    await shipper.kill();
    await during;
    shipper = await start('log-shipper', shipperEnv);
    await shipper.ready();
    await sendAll(httpAgent, port, phase(fourth));
    httpAgent.destroy();
    // Each request in each log once, in one file or the other: the worker reopens a moment after the master.
    expect(linesLogged(logs, 'combined.log', 'combined.log.1')).toBe(REQUESTS);
    expect(linesLogged(logs, 'json.log', 'json.log.1')).toBe(REQUESTS);

    // Done when the verifier has every line and nothing is left to ship or transform.
    const lines = 2 * REQUESTS;
    const shipperRuns = async () =>
      parseVerificationReport((await verifier.get('/report')).text).runs.filter((r) => r.runId.startsWith(`${id}:`));
    await eventually(async () => ((await shipperRuns()).reduce((sum, r) => sum + r.unique, 0) >= lines ? true : undefined), 180000).catch(
      async (error: unknown) => {
        // Say where the lines are: shipped or rejected by the shipper, dead-lettered, verified.
        const report = (await verifier.get('/report')).text;
        const metrics = (await shipper.get('/metrics')).text.split('\n').filter((l) => l.startsWith('weblog_log_shipper_lines'));
        const dead = (await consumeAll(kafka, topics.deadLetter))
          .slice(0, 3)
          .map((r) => JSON.stringify(r.message.headers) + (r.message.value?.toString('utf8').slice(0, 300) ?? ''));
        throw new Error(
          `${String(error)}\nverifier: ${report.slice(0, 2000)}\nshipper: ${metrics.join('; ')}\ndead letters: ${dead.join('\n')}`,
        );
      },
    );
    await eventually(
      async () => (metricValue((await shipper.get('/metrics')).text, 'weblog_log_shipper_bytes_behind') === 0 ? true : undefined),
      30000,
    );
    await eventually(() => caughtUp(admin, `${id}-transformer`, topics.input), 60000);

    const expected = new Map(plan.map((p) => [p.id.toUpperCase(), p]));
    const perIdAndFormat = [...expected.keys()].flatMap((key) => [`${key} combined`, `${key} json`]);

    // Output: each request's line from each log exactly once, upper-cased, with what nginx was asked.
    const output = (await consumeAll(kafka, topics.output)).map(
      (r) => JSON.parse(r.message.value?.toString('utf8') ?? '{}') as Record<string, unknown>,
    );
    const outputCounts = countByIdAndFormat(output);
    expect([...outputCounts.keys()].sort()).toEqual([...perIdAndFormat].sort());
    expect([...outputCounts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(output).toHaveLength(lines);
    const wrong: string[] = [];
    for (const value of output) {
      const sent = expected.get(idOf(value['url']) ?? '');
      const ip = sent?.ipv6 ? '::1' : '127.0.0.1';
      const strings = Object.values(value).filter((v): v is string => typeof v === 'string');
      if (
        !sent ||
        value['method'] !== sent.method ||
        value['status_code'] !== sent.status ||
        value['ip'] !== ip ||
        strings.some((s) => s !== s.toUpperCase())
      ) {
        wrong.push(JSON.stringify(value).slice(0, 300));
      }
    }
    expect(wrong).toEqual([]);
    // The odd agents came through, upper-cased: unicode as UTF-8 from the JSON log, quotes in both.
    const agents = new Set(output.map((v) => v['user_agent']));
    for (const odd of AGENTS.slice(4, 6)) expect(agents).toContain(odd?.toUpperCase());
    expect(agents).toContain('-');
    if (ipv6) expect(output.some((v) => v['ip'] === '::1')).toBe(true);
    expect(await consumeAll(kafka, topics.deadLetter)).toEqual([]);
    expect(await consumeAll(kafka, topics.input)).toHaveLength(lines);

    // The verifier: four shipped files (two logs, each before and after the rotation), each whole and once.
    const runs = await shipperRuns();
    expect(runs).toHaveLength(4);
    for (const run of runs) expect(run).toMatchObject({ missing: 0, duplicates: 0, outOfOrder: 0, unique: run.expected });
    expect(runs.reduce((sum, r) => sum + r.unique, 0)).toBe(lines);

    // S3: each line once, as the output topic has it.
    await eventually(() => caughtUp(admin, `${id}-archiver`, topics.output), 120000);
    const store = new ArchiveStore(
      createS3Client(parseEnv(serviceEnv({ ...s3EnvShape }), { ...process.env, S3_BUCKET: 'weblog-archive' })),
      'weblog-archive',
    );
    const archived: Record<string, unknown>[] = [];
    for (const list of (await listArchive(store, id, topics.output)).values()) {
      for (const object of list) {
        const read = await readArchiveObject(store, object);
        expect(read.problems).toEqual([]);
        archived.push(...read.records.map((r) => r.value as unknown as Record<string, unknown>));
      }
    }
    store.client.destroy();
    const archivedCounts = countByIdAndFormat(archived);
    expect([...archivedCounts.keys()].sort()).toEqual([...perIdAndFormat].sort());
    expect([...archivedCounts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const audit = parseAuditReport(await (await fetch(`${verifier.url}/audit`, { method: 'POST' })).text());
    expect(audit).toMatchObject({ ok: true, topicRecords: lines, archivedRecords: lines, missingInS3: 0, duplicatedInS3: 0 });
  }, 600000);
});
