#!/usr/bin/env node
// `npm start` and `npm test` land here on a fresh clone, before any package is installed, so this
// file uses Node's standard library only: it installs what is missing, builds, then runs.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { homedir, tmpdir } = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', TZ: 'UTC', FORCE_COLOR: '0' };

/** The Node.js release the image ships (the Dockerfile's NODE_IMAGE) and so the one everything here runs on. */
function pinnedNodeVersion() {
  return readFileSync(path.join(root, '.node-version'), 'utf8').trim();
}

/** settings.ts's cacheRoot(), again because this file runs before any TypeScript is compiled; a unit test holds them equal. */
function cacheRoot(environment = process.env) {
  const explicit = environment.WEBLOG_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = environment.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache');
  return path.join(base, 'weblog-pipeline');
}

/**
 * The bin directory of the pinned Node.js, fetched once from the npm registry, whose
 * node-<platform>-<arch> packages carry the release's own binary; npm checks the tarball's integrity.
 */
function pinnedNodeBin(version) {
  const name = `node-${process.platform}-${process.arch}`;
  const home = path.join(cacheRoot(), `${name}-${version}`);
  const bin = path.join(home, 'bin');
  if (existsSync(path.join(bin, 'node'))) return bin;
  step(`fetching Node.js ${version} (${name} from the npm registry, first run only)`);
  mkdirSync(path.dirname(home), { recursive: true });
  const partial = mkdtempSync(`${home}.partial-`);
  try {
    const pack = spawnSync('npm', ['pack', `${name}@${version}`, '--pack-destination', partial, '--silent'], {
      cwd: partial,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(partial).find((file) => file.endsWith('.tgz'));
    if (pack.error || pack.status !== 0 || !tarball)
      throw new Error(`npm pack ${name}@${version} failed (exit ${pack.status ?? pack.signal})`);
    const untar = spawnSync('tar', ['-xzf', tarball], { cwd: partial, stdio: 'inherit' });
    if (untar.error || untar.status !== 0) throw new Error(`tar -xzf ${tarball} failed (exit ${untar.status ?? untar.signal})`);
    const reported = spawnSync(path.join(partial, 'package', 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout;
    if (reported?.trim() !== `v${version}`) throw new Error(`${name}@${version} holds a node that reports ${reported || 'nothing'}`);
    // A concurrent run may have finished first; its copy is as good as this one.
    if (!existsSync(bin)) renameSync(path.join(partial, 'package'), home);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return bin;
}

/**
 * Runs this launcher again under the pinned Node.js unless it already is, with that Node's bin
 * directory first on PATH so npm, npx, Nx, Jest and every `node` they start use it too.
 * Returns false when the re-run took over this process.
 */
function onPinnedNode() {
  const version = pinnedNodeVersion();
  if (process.versions.node === version) return true;
  let bin;
  try {
    bin = pinnedNodeBin(version);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const child = spawn(path.join(bin, 'node'), [module.filename, ...process.argv.slice(2)], {
    cwd: process.cwd(),
    env: { ...process.env, PATH: [bin, process.env.PATH].filter(Boolean).join(path.delimiter) },
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return false;
}

function step(title) {
  process.stdout.write(`\n==> ${title}\n`);
}

function run(command, args, { exitOnFailure = true } = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0 && exitOnFailure) {
    process.stderr.write(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
  return result.status === 0;
}

/** Runs a Jest configuration and reads back how many tests passed and failed. */
function jest(config) {
  const report = path.join(mkdtempSync(path.join(tmpdir(), 'weblog-jest-')), 'report.json');
  const ok = run('npx', ['jest', '--config', config, '--ci', '--json', `--outputFile=${report}`], { exitOnFailure: false });
  const counts = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : { numPassedTests: 0, numFailedTests: 1 };
  return { ok, passed: counts.numPassedTests, failed: counts.numFailedTests + (ok ? 0 : counts.numFailedTests === 0 ? 1 : 0) };
}

/** The lock and the patches npm applies after installing (patch-package), so a new patch reinstalls too. */
function lockDigest() {
  const hash = createHash('sha256').update(readFileSync(path.join(root, 'package-lock.json')));
  const patches = path.join(root, 'patches');
  if (existsSync(patches)) for (const file of readdirSync(patches).sort()) hash.update(file).update(readFileSync(path.join(patches, file)));
  return hash.digest('hex');
}

/**
 * npm packages at the versions package-lock.json pins, installed again whenever the lock or a
 * patch changed.
 * `npm install` rather than `npm ci`: npm leaves other platforms' optional binaries (SWC's) out of
 * the lock it writes, and `npm ci` then refuses that lock as out of sync (npm/cli#4828).
 */
function ensureDependencies() {
  const stamp = path.join(root, 'node_modules', '.weblog-lock-digest');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lockDigest()) return;
  step('installing npm packages');
  run('npm', ['install', '--no-audit', '--no-fund']);
  writeFileSync(stamp, lockDigest());
}

function build() {
  step('building the services');
  run('npx', ['nx', 'run-many', '-t', 'build', '--output-style=static']);
}

function prepareInfrastructure(extra = []) {
  step('preparing local Kafka and S3 (first run resolves Kafka from Maven Central and builds MinIO)');
  run('node', ['infra/local/dist/prepare-cli.js', ...extra]);
}

const commands = {
  test() {
    ensureDependencies();
    step('lint');
    run('npx', ['nx', 'run-many', '-t', 'lint', '--output-style=static']);
    step('format check (Prettier, every TypeScript file)');
    run('npx', ['prettier', '--check', '**/*.ts']);
    step('type check (sources and tests)');
    run('npx', ['tsc', '-p', 'tsconfig.json']);
    step('unit tests');
    const unit = jest('jest.config.js');
    build();
    prepareInfrastructure(['--deploy']);
    step('end-to-end tests against real Kafka and S3, and the deploy checks');
    const e2e = jest('jest.e2e.config.js');
    // One plain closing line over both runs, for whoever reads only the end of the log.
    process.stdout.write(`\ntests: ${unit.passed + e2e.passed} passed, ${unit.failed + e2e.failed} failed\n`);
    if (!unit.ok || !e2e.ok) process.exit(1);
  },
  start() {
    ensureDependencies();
    build();
    prepareInfrastructure();
    step('starting the fleet (Ctrl-C stops everything)');
    runToEnd('infra/local/dist/fleet-cli.js');
  },
  reliability() {
    ensureDependencies();
    build();
    prepareInfrastructure();
    step('reliability suite: faults, bad input and bursts against a Kafka broker and an S3 server of its own');
    runToEnd('reliability/dist/cli.js');
  },
  bench() {
    ensureDependencies();
    build();
    prepareInfrastructure();
    step('benchmarks: our services and their peers on one local Kafka broker and S3 server');
    runToEnd('bench/dist/cli.js');
  },
};

/** Runs a built script with this command's arguments and exits with its status. */
function runToEnd(script) {
  const child = spawn('node', [script, ...process.argv.slice(3)], { cwd: root, env, stdio: 'inherit' });
  // The script handles Ctrl-C itself; this process only waits for it to finish.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function main() {
  const command = commands[process.argv[2] ?? ''];
  if (!command) {
    process.stderr.write('usage: weblog.cjs start|test|reliability|bench\n');
    process.exit(2);
  }
  if (onPinnedNode()) command();
}

// Required rather than run: the tests read the cache rule and the pinned version from here.
if (require.main === module) main();
else module.exports = { cacheRoot, pinnedNodeVersion };
