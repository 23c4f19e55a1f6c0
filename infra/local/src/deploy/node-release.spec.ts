import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cacheRoot } from '../settings';
import { nodePinDisagreements, NodePins, repoFile } from './deploy-checks';

const LAUNCHER = repoFile('infra/local/bin/weblog.cjs');

const repoPins = (): NodePins => ({
  nodeVersion: readFileSync(repoFile('.node-version'), 'utf8'),
  dockerfile: readFileSync(repoFile('Dockerfile'), 'utf8'),
  packageJson: readFileSync(repoFile('package.json'), 'utf8'),
});

/** Evaluates an expression over the launcher's exports in a plain node, as the launcher runs before any build. */
function fromLauncher(expression: string, env: NodeJS.ProcessEnv = process.env): string {
  const script = `const launcher = require(${JSON.stringify(LAUNCHER)}); process.stdout.write(String(${expression}));`;
  const result = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
}

describe('the Node.js release', () => {
  it('is one line: the image ships .node-version, engines and @types/node name its major', () => {
    expect(nodePinDisagreements(repoPins())).toEqual([]);
  });

  it('reports a Dockerfile, engines or @types/node that drifted from .node-version', () => {
    const pins = repoPins();
    const pinned = pins.nodeVersion.trim();
    const [major, minor, patch] = pinned.split('.').map(Number);
    const drifted = {
      ...pins,
      dockerfile: pins.dockerfile.replace(`node:${pinned}-`, `node:${major}.${minor}.${(patch ?? 0) + 1}-`),
      packageJson: pins.packageJson
        .replace(`"node": ">=${major}"`, '"node": ">=20.19"')
        .replace(/"@types\/node": "\d+/, '"@types/node": "20'),
    };
    expect(nodePinDisagreements(drifted)).toEqual([
      expect.stringContaining('Dockerfile NODE_IMAGE'),
      expect.stringContaining('engines.node is ">=20.19"'),
      expect.stringContaining('@types/node is "20.'),
    ]);
    expect(nodePinDisagreements({ ...pins, nodeVersion: 'lts/*' })).toEqual([expect.stringContaining('not a release')]);
  });

  it('runs these tests: the launcher started them on the pinned major', () => {
    const pinned = readFileSync(repoFile('.node-version'), 'utf8').trim();
    expect(process.versions.node.split('.')[0]).toBe(pinned.split('.')[0]);
    expect(fromLauncher('launcher.pinnedNodeVersion()')).toBe(pinned);
  });

  it('is cached where settings.ts caches everything else', () => {
    const cases: NodeJS.ProcessEnv[] = [
      { WEBLOG_CACHE_DIR: 'relative/cache' },
      { XDG_CACHE_HOME: '/var/cache/xdg' },
      { XDG_CACHE_HOME: 'not-absolute' },
      {},
    ];
    for (const overrides of cases) {
      const env: NodeJS.ProcessEnv = { ...process.env, WEBLOG_CACHE_DIR: '', XDG_CACHE_HOME: '', ...overrides };
      expect({ overrides, root: fromLauncher('launcher.cacheRoot()', env) }).toEqual({ overrides, root: cacheRoot(env) });
    }
  });
});
