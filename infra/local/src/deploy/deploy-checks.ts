import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root: deploy files are read where users find them. */
export const repoRoot = path.resolve(__dirname, '../../../..');

export function repoFile(relative: string): string {
  const file = path.join(repoRoot, relative);
  if (!existsSync(file)) throw new Error(`${relative} is missing`);
  return file;
}

export function readYaml<T = unknown>(relative: string): T {
  return parse(readFileSync(repoFile(relative), 'utf8')) as T;
}

export function yamlDocuments(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Record<string, unknown> | null)
    .filter((doc): doc is Record<string, unknown> => doc !== null);
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a checking tool to completion; the tests assert on its exit status and output. */
export function run(command: string, args: readonly string[], options: { input?: string; cwd?: string } = {}): Run {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    input: options.input,
    encoding: 'utf8',
    timeout: 120000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions, keywords,
 * label names (inside braces or by/without lists), strings, durations or numbers.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Numbers (1e3, 0.99) and durations (5m) are never names.
    .replace(/(?<![A-Za-z0-9_:])\d[\d.]*(?:e[+-]?\d+)?[a-z]*/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![A-Za-z0-9_:])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const [token] = match;
    const followedByParen = stripped
      .slice((match.index ?? 0) + token.length)
      .trimStart()
      .startsWith('(');
    if (followedByParen || PROMQL_KEYWORDS.has(token.toLowerCase())) continue;
    names.add(token);
  }
  return [...names].sort();
}

/**
 * Metric names a /metrics page declares (its # TYPE lines), with the series names histograms
 * and summaries add, so `x_bucket` counts as exported when `x` is a histogram.
 */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)/.exec(line);
    if (!match?.[1]) continue;
    const [, name, type] = match;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

export interface Dashboard {
  readonly title: string;
  readonly panels: { title: string; targets?: { expr: string }[] }[];
}

export function dashboardQueries(dashboard: Dashboard): { panel: string; expr: string }[] {
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
}

export function alertRules(groups: { rules: AlertRule[] }[]): AlertRule[] {
  return groups.flatMap((group) => group.rules);
}

/** The files that name the Node.js release, as text: .node-version, the Dockerfile and package.json. */
export interface NodePins {
  readonly nodeVersion: string;
  readonly dockerfile: string;
  readonly packageJson: string;
}

/**
 * Where the pins disagree with .node-version: the image must be that exact release, `engines`
 * and `@types/node` its major line. An empty list means the tests run what the image ships.
 */
export function nodePinDisagreements(pins: NodePins): string[] {
  const pinned = pins.nodeVersion.trim();
  if (!/^\d+\.\d+\.\d+$/.test(pinned)) return [`.node-version holds "${pinned}", not a release like 24.1.2`];
  const major = pinned.split('.')[0];
  const found: string[] = [];
  const image = /^ARG NODE_IMAGE=node:(\S+?)-bookworm-slim$/m.exec(pins.dockerfile)?.[1];
  if (image !== pinned) found.push(`Dockerfile NODE_IMAGE is node:${image ?? '?'}-bookworm-slim, not node:${pinned}-bookworm-slim`);
  const manifest = JSON.parse(pins.packageJson) as { engines?: { node?: string }; devDependencies?: Record<string, string> };
  const engines = manifest.engines?.node;
  if (engines !== `>=${major}`) found.push(`package.json engines.node is "${engines ?? ''}", not ">=${major}"`);
  const types = manifest.devDependencies?.['@types/node'];
  if (!types || types.split('.')[0] !== major) found.push(`package.json @types/node is "${types ?? ''}", not ${major}.x`);
  return found;
}
