import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeadLetterHeaders, decode, headerNumber, headerText, PipelineHeaders, WebLogContract } from '@weblog/kafka-common';
import {
  consumeAll,
  eventually,
  INVALID_STARTUP_ENV,
  isolatedTopics,
  metricValue,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { checkConfigRejected, ServiceProcess } from '@weblog/local-infra';

const SHIPPED = 'weblog_log_shipper_lines_shipped_total';
const METHODS = ['GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PROPFIND', 'PURGE'];
const STATUSES = [200, 200, 201, 204, 301, 304, 404, 403, 500, 503];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0', 'curl/8.5.0', '-', 'bot \\"quoted\\" v1'];

/** A real combined-format line whose URL names it, so the test can tell every line apart. */
function combinedLine(tag: string, i: number): string {
  const ip = i % 7 === 0 ? `2001:db8::${(i % 65535).toString(16)}` : `198.51.100.${i % 250}`;
  const url = i % 11 === 0 ? `http://shop.example/${tag}/${i}?q=a%20b` : `/${tag}/${i}?page=${i % 9}&sort=asc`;
  const second = String(i % 60).padStart(2, '0');
  return `${ip} - - [10/Oct/2026:13:55:${second} +0900] "${METHODS[i % METHODS.length]} ${url} HTTP/1.1" ${STATUSES[i % STATUSES.length]} ${i * 3} "-" "${AGENTS[i % AGENTS.length]}"\n`;
}

function lines(tag: string, from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += combinedLine(tag, i);
  return text;
}

/** `tag/i` of a shipped record, from its URL. */
function lineName(url: string): string {
  const match = /\/([a-z0-9-]+)\/(\d+)\?/.exec(url);
  if (!match) throw new Error(`unexpected url ${url}`);
  return `${match[1]}/${match[2]}`;
}

interface Shipped {
  readonly runs: Map<string, number[]>;
  readonly names: string[];
}

/** Everything on the input topic, read committed: the run ids with their sequences, and the lines by name. */
async function shipped(topic: string): Promise<Shipped> {
  const runs = new Map<string, number[]>();
  const names: string[] = [];
  for (const { message } of await consumeAll(testKafka('shipper-e2e'), topic)) {
    const decoded = decode(WebLogContract, message.value);
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(message.key?.toString()).toBe(decoded.value.ip);
    expect(headerNumber(message.headers, PipelineHeaders.producedAt)).toBeGreaterThan(0);
    const run = headerText(message.headers, PipelineHeaders.runId) ?? '';
    runs.set(run, [...(runs.get(run) ?? []), headerNumber(message.headers, PipelineHeaders.sequence) ?? 0]);
    names.push(lineName(decoded.value.url));
  }
  for (const sequences of runs.values()) sequences.sort((a, b) => a - b);
  return { runs, names };
}

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const named = (tag: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${tag}/${from + i}`);

async function shippedCount(service: ServiceProcess): Promise<number> {
  return metricValue((await service.get('/metrics')).text, SHIPPED);
}

describe('log-shipper against real Kafka and real files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'shipper-e2e-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function shipperEnv(topics: { env: Record<string, string> }, files: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...topics.env,
      SHIPPER_FILES: files,
      SHIPPER_ID: uniqueName('shipper'),
      SHIPPER_OFFSETS_TOPIC: uniqueName('shipper-offsets'),
      SHIPPER_POLL_INTERVAL_MS: '50',
      SHIPPER_ROTATED_GRACE_MS: '1000',
      ...extra,
    };
  }

  it('ships every line exactly once, across rotation by rename and by copy-truncate, with sequences 1..N per file', async () => {
    const topics = isolatedTopics('shipper-rotation');
    const log = path.join(dir, 'access.log');
    writeFileSync(log, lines('first', 0, 2000));
    const service = await ServiceProcess.start('log-shipper', shipperEnv(topics, log, { SHIPPER_BATCH_LINES: '250' }));
    await service.ready();
    await eventually(async () => ((await shippedCount(service)) === 2000 ? true : undefined), 60000);

    // Rename: the writer still appends to the renamed file before it reopens the path.
    renameSync(log, `${log}.1`);
    appendFileSync(`${log}.1`, lines('first', 2000, 300));
    writeFileSync(log, lines('second', 0, 1000));
    await eventually(async () => ((await shippedCount(service)) === 3300 ? true : undefined), 60000);

    // Copy-truncate: the copy is not a matched path; the truncated file starts again from 0.
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    appendFileSync(log, lines('third', 0, 700));
    appendFileSync(log, lines('third', 700, 500).slice(0, -1));
    await eventually(async () => ((await shippedCount(service)) === 4499 ? true : undefined), 60000);
    // A partial last line waits for its newline.
    appendFileSync(log, '\n');
    await eventually(async () => ((await shippedCount(service)) === 4500 ? true : undefined), 60000);
    expect(await service.stop()).toBe(0);

    const { runs, names } = await shipped(topics.input);
    expect([...runs.values()].map((s) => s.length).sort((a, b) => a - b)).toEqual([1000, 1200, 2300]);
    for (const [run, sequences] of runs) {
      expect(run).toMatch(/^shipper-[a-z0-9]+-[0-9a-f]{8}:\d+-\d+-[0-9a-f]{16}$/);
      expect(sequences).toEqual(oneToN(sequences.length));
    }
    expect(names.sort()).toEqual([...named('first', 0, 2300), ...named('second', 0, 1000), ...named('third', 0, 1200)].sort());
  });

  it('after a SIGKILL in the middle, a restart resumes where the last transaction ended: no line lost, none twice', async () => {
    const topics = isolatedTopics('shipper-kill');
    const log = path.join(dir, 'access.log');
    writeFileSync(log, lines('kill', 0, 6000));
    const env = shipperEnv(topics, `combined:${path.join(dir, '*.log')}`, { SHIPPER_BATCH_LINES: '100' });
    const first = await ServiceProcess.start('log-shipper', env);
    await first.ready();
    await eventually(async () => ((await shippedCount(first)) >= 1500 ? true : undefined), 60000);
    await first.kill();
    appendFileSync(log, lines('kill', 6000, 1000));

    const second = await ServiceProcess.start('log-shipper', { ...env, LOG_LEVEL: 'log' });
    await second.ready();
    expect(second.logs).toMatch(/loaded 1 file positions/);
    await eventually(
      async () =>
        (await shippedCount(second)) > 0 && !(await second.get('/metrics')).text.match(/bytes_behind\{[^}]*\} [1-9]/) ? true : undefined,
      60000,
    );
    expect(await second.stop()).toBe(0);

    const { runs, names } = await shipped(topics.input);
    expect(runs.size).toBe(1);
    const [run, sequences] = [...runs][0] ?? ['', []];
    expect(run).toMatch(new RegExp(`^${env['SHIPPER_ID']}:\\d+-\\d+-[0-9a-f]{16}$`));
    expect(sequences).toEqual(oneToN(7000));
    expect(names.sort()).toEqual(named('kill', 0, 7000).sort());
  });

  it('one-shot: ships json and common files to their end, dead-letters an unparseable line with its reason, exits 0 with a summary', async () => {
    const topics = isolatedTopics('shipper-one-shot');
    const json = path.join(dir, 'access.json');
    const common = path.join(dir, 'access.log');
    const jsonLines = Array.from({ length: 500 }, (_, i) =>
      JSON.stringify({
        remote_addr: i % 3 === 0 ? '::1' : '203.0.113.7',
        time_iso8601: '2026-10-10T13:55:36+09:00',
        request_method: 'GET',
        request_uri: `/json/${i}?x=1`,
        status: String(STATUSES[i % STATUSES.length]),
        http_user_agent: 'Mozilla/5.0',
        body_bytes_sent: String(i),
        http_referer: '',
        server_protocol: 'HTTP/2.0',
        host: 'shop.example',
        request_time: '0.001',
      }),
    );
    const unparseable = '{"remote_addr":"203.0.113.7","http_user_agent":"\\x22bot\\x22"}';
    writeFileSync(json, `${jsonLines.slice(0, 250).join('\n')}\n${unparseable}\n${jsonLines.slice(250).join('\n')}\n`);
    // The last line has no newline: a one-shot run ships it as the file's end.
    writeFileSync(
      common,
      `192.0.2.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /common/0? HTTP/1.0" 200 2326\n192.0.2.2 - - [10/Oct/2000:13:55:37 -0700] "GET /common/1? HTTP/1.0" 404 -`,
    );
    const service = await ServiceProcess.start(
      'log-shipper',
      shipperEnv(topics, `json:${json},common:${common}`, { SHIPPER_ONE_SHOT: 'true', LOG_LEVEL: 'log' }),
    );
    expect(await service.waitForExit(60000)).toBe(0);
    expect(service.logs).toMatch(/shipped 502 lines \(1 rejected\) from 2 files/);

    const { names } = await shipped(topics.input);
    expect(names.sort()).toEqual([...named('json', 0, 500), ...named('common', 0, 2)].sort());
    const dead = await consumeAll(testKafka('shipper-e2e'), topics.deadLetter);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.message.value?.toString()).toBe(unparseable);
    expect(headerText(dead[0]?.message.headers, DeadLetterHeaders.reason)).toBe('unparseable-line');
    expect(headerText(dead[0]?.message.headers, DeadLetterHeaders.detail)).toMatch(/escape=json/);
    expect(headerText(dead[0]?.message.headers, PipelineHeaders.sequence)).toBe('251');
  });

  it.each([
    ...INVALID_STARTUP_ENV.map(
      ([variable, overrides]) => [variable, { SHIPPER_FILES: '/var/log/nginx/access.log', ...overrides }] as const,
    ),
    ['SHIPPER_FILES', {}] as const,
    ['SHIPPER_FILES', { SHIPPER_FILES: 'xml:/var/log/a.log' }] as const,
    ['SHIPPER_FORMAT', { SHIPPER_FILES: '/a.log', SHIPPER_FORMAT: 'w3c' }] as const,
    ['SHIPPER_BATCH_LINES', { SHIPPER_FILES: '/a.log', SHIPPER_BATCH_LINES: '0' }] as const,
    ['SHIPPER_ID', { SHIPPER_FILES: '/a.log', SHIPPER_ID: 'has space' }] as const,
  ])('stops with one line naming %s and exit 1 when it is invalid', (variable, overrides) => {
    expect(() => checkConfigRejected('log-shipper', variable, overrides)).not.toThrow();
  });
});
