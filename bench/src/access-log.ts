// A large access log in nginx's `combined` format, the same bytes on every machine: the input of
// the shipper benchmark, written once into the cache.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { cachedArtifact, cacheRoot, seededRandom } from '@weblog/local-infra';

/** Bumped whenever the lines change, so a cached file from older code is written again. */
const FORMAT_VERSION = 1;

const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'PROPFIND'];
const PATHS = ['/', '/index.html', '/api/v1/orders', '/api/v1/users/42', '/static/app.3f9a.js', '/search', '/img/logo.png', '/cart'];
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 404, 429, 500, 502, 503];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'curl/8.5.0',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
  'python-requests/2.32.3',
  '-',
];
const REFERERS = ['-', '-', 'https://www.example.com/', 'https://search.example.org/?q=shoes'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const two = (n: number) => String(n).padStart(2, '0');

/** `10/Oct/2026:13:55:36 +0000`, as nginx writes $time_local on a UTC machine. */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()] ?? 'Jan'}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** Line `n` (0-based) of the log: clients from IPv4 and IPv6 pools, query strings, a mix of statuses and agents. */
export function combinedLine(n: number, random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const ip =
    random() < 0.1
      ? `2001:db8:${(n % 97).toString(16)}::${Math.floor(random() * 0xffff).toString(16)}`
      : `${10 + Math.floor(random() * 200)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
  const query = random() < 0.4 ? `?id=${n}&page=${Math.floor(random() * 50)}&q=caf%C3%A9+au+lait` : '';
  const time = timeLocal(Date.UTC(2026, 9, 10, 0, 0, 0) + n * 7);
  const status = pick(STATUSES);
  const bytes = status === 204 || status === 304 ? 0 : Math.floor(random() * 50000);
  return `${ip} - - [${time}] "${pick(METHODS)} ${pick(PATHS)}${query} HTTP/1.1" ${status} ${bytes} "${pick(REFERERS)}" "${pick(AGENTS)}"`;
}

/** The log of `lines` lines in the cache, written on first use. */
export async function accessLogFile(lines: number, log: (line: string) => void): Promise<string> {
  const dir = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `bench-access-log-${lines}`),
      source: `combined v${FORMAT_VERSION} seed 14 lines ${lines}`,
      output: 'log',
      what: `an access log of ${lines.toLocaleString('en-US')} lines`,
      announce: `writing an access log of ${lines.toLocaleString('en-US')} combined lines (first run only)`,
      build: async (partial) => {
        const out = createWriteStream(path.join(partial, 'access.log'));
        const random = seededRandom(14);
        let chunk: string[] = [];
        for (let n = 0; n < lines; n++) {
          chunk.push(combinedLine(n, random));
          if (chunk.length === 10_000 || n === lines - 1) {
            if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
            chunk = [];
          }
        }
        out.end();
        await once(out, 'finish');
      },
    },
    log,
  );
  return path.join(dir, 'access.log');
}
