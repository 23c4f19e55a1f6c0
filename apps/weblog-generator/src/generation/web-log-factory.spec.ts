import { decode, encode, WebLogContract } from '@weblog/kafka-common';
import { WebLogFactory } from './web-log-factory';

const fixedClock = () => new Date('2026-11-23T12:00:00.000Z');

function sample(count: number, seed = 7) {
  const factory = new WebLogFactory({ seed, clock: fixedClock });
  return Array.from({ length: count }, () => factory.next());
}

describe('WebLogFactory', () => {
  const logs = sample(20000);
  const share = (predicate: (log: (typeof logs)[number]) => boolean) => logs.filter(predicate).length / logs.length;

  it('gives the same records for the same seed and different ones for another seed', () => {
    expect(sample(200, 42)).toEqual(sample(200, 42));
    expect(sample(200, 43)).not.toEqual(sample(200, 42));
  });

  it('makes only records that satisfy the WebLog contract', () => {
    for (const log of logs) {
      const result = decode(WebLogContract, encode(WebLogContract, log));
      if (!result.ok) throw new Error(`${result.detail} in ${JSON.stringify(log)}`);
    }
  });

  it('is mostly GET with some POST, PUT and DELETE', () => {
    expect(share((l) => l.method === 'GET')).toBeGreaterThan(0.7);
    expect(share((l) => l.method === 'GET')).toBeLessThan(0.95);
    for (const method of ['POST', 'PUT', 'DELETE'] as const) expect(share((l) => l.method === method)).toBeGreaterThan(0.003);
  });

  it('is mostly 2xx with some 3xx, 4xx and 5xx', () => {
    const klass = (k: number) => share((l) => Math.floor(l.status_code / 100) === k);
    expect(klass(2)).toBeGreaterThan(0.75);
    expect(klass(3)).toBeGreaterThan(0.02);
    expect(klass(4)).toBeGreaterThan(0.02);
    expect(klass(5)).toBeGreaterThan(0.003);
    expect(klass(2) + klass(3) + klass(4) + klass(5)).toBeCloseTo(1, 10);
  });

  it('uses IPv4 mostly and IPv6 sometimes', () => {
    const v6 = share((l) => l.ip.includes(':'));
    expect(v6).toBeGreaterThan(0.03);
    expect(v6).toBeLessThan(0.25);
  });

  it('has returning clients: a small set of addresses makes most requests', () => {
    const counts = new Map<string, number>();
    for (const log of logs) counts.set(log.ip, (counts.get(log.ip) ?? 0) + 1);
    const fromReturning = [...counts.values()].filter((n) => n > 1).reduce((a, b) => a + b, 0);
    expect(fromReturning / logs.length).toBeGreaterThan(0.8);
    // Some returning clients are far busier than others: the top fifth of the pool beats a uniform share.
    const busiest = [...counts.values()].sort((a, b) => b - a).slice(0, 100);
    expect(busiest.reduce((a, b) => a + b, 0) / fromReturning).toBeGreaterThan(0.35);
    expect(counts.size).toBeGreaterThan(1000);
  });

  it('keeps a client on one user agent and uses many distinct agents overall', () => {
    const agents = new Map<string, Set<string>>();
    for (const log of logs) agents.set(log.ip, (agents.get(log.ip) ?? new Set()).add(log.user_agent));
    expect([...agents.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set(logs.map((l) => l.user_agent)).size).toBeGreaterThan(100);
  });

  it('draws URLs from a fixed site map with ids and query strings', () => {
    const roots = new Set(logs.map((l) => `/${l.url.split(/[/?]/)[1] ?? ''}`));
    expect(roots.size).toBeLessThanOrEqual(12);
    expect(share((l) => l.url.includes('?'))).toBeGreaterThan(0.1);
    expect(share((l) => /\/\d{4,}/.test(l.url))).toBeGreaterThan(0.1);
  });
});
