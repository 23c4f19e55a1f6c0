import { ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { signalTree } from './supervisor';

/**
 * The watchdog runs as a separate, detached Node process so that it survives a SIGKILL of the
 * process that launched the servers. It learns what to clean up over its stdin pipe; when the
 * pipe closes (or the parent pid disappears) the parent is gone, so it stops every tracked
 * process group and deletes the run directories it was told about.
 *
 * It is plain JavaScript passed with `node -e` so it runs the same whether this package is
 * executed from TypeScript sources under Jest or from compiled output.
 */
const WATCHDOG_SOURCE = String.raw`
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');
const parentPid = Number(process.argv[1]);
const graceMs = Number(process.argv[2]);
const tracked = new Map();
const dirs = new Set();
let buffered = '';
let cleaning = false;

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}
function cmdline(pid) {
  try { return fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').split('\0').join(' '); } catch (e) {}
  try { return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }); } catch (e) { return ''; }
}
function signal(pid, sig) {
  try { process.kill(-pid, sig); return; } catch (e) {}
  try { process.kill(pid, sig); } catch (e) {}
}
function ours(pid, match) {
  return alive(pid) && cmdline(pid).includes(match);
}
function handle(message) {
  if (message.track) tracked.set(message.track.pid, message.track.match);
  if (message.untrack) tracked.delete(message.untrack);
  if (message.removeDir) dirs.add(message.removeDir);
  if (message.keepDir) dirs.delete(message.keepDir);
  if (message.release) process.exit(0);
}
function cleanup() {
  if (cleaning) return;
  cleaning = true;
  const victims = [...tracked].filter(([pid, match]) => ours(pid, match)).map(([pid]) => pid);
  for (const pid of victims) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  const poll = setInterval(() => {
    const left = victims.filter(alive);
    if (left.length > 0 && Date.now() < deadline) return;
    for (const pid of left) signal(pid, 'SIGKILL');
    clearInterval(poll);
    setTimeout(() => {
      for (const dir of dirs) { try { fs.rmSync(dir, { recursive: true, force: true }); } catch (e) {} }
      process.exit(0);
    }, left.length > 0 ? 500 : 0);
  }, 100);
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    try { handle(JSON.parse(line)); } catch (e) {}
  }
});
process.stdin.on('end', cleanup);
process.stdin.on('error', cleanup);
setInterval(() => { if (!alive(parentPid)) cleanup(); }, 1000);
`;

interface Tracked {
  readonly pid: number;
  /** A string the process's command line must contain, so a recycled pid is never signalled. */
  readonly match: string;
}

/**
 * Keeps every process this module starts from outliving the Node process that started it:
 * on normal exit (synchronously, via the 'exit' event) and on SIGKILL (via the watchdog).
 */
class OrphanGuard {
  private watchdog: ChildProcess | undefined;
  private readonly tracked = new Map<number, Tracked>();
  private readonly dirs = new Set<string>();
  private exitHookInstalled = false;

  /** Grace the watchdog gives servers between SIGTERM and SIGKILL once the parent is gone. */
  constructor(private readonly graceMs = 15000) {}

  track(pid: number, match: string): void {
    this.tracked.set(pid, { pid, match });
    this.installExitHook();
    this.send({ track: { pid, match } });
  }

  untrack(pid: number): void {
    if (!this.tracked.delete(pid)) return;
    this.send({ untrack: pid });
    this.releaseIfIdle();
  }

  /** Deleted by the watchdog if the parent dies before it could delete the directory itself. */
  removeOnCrash(dir: string): void {
    this.dirs.add(dir);
    this.send({ removeDir: dir });
  }

  forgetDir(dir: string): void {
    if (!this.dirs.delete(dir)) return;
    this.send({ keepDir: dir });
    this.releaseIfIdle();
  }

  private send(message: object): void {
    if (this.watchdog) {
      this.write(this.watchdog, message);
      return;
    }
    if (this.tracked.size === 0 && this.dirs.size === 0) return;
    // A fresh watchdog (first use, or the previous one died) learns the whole state, not one change.
    const watchdog = this.spawnWatchdog();
    for (const { pid, match } of this.tracked.values()) this.write(watchdog, { track: { pid, match } });
    for (const dir of this.dirs) this.write(watchdog, { removeDir: dir });
  }

  private write(watchdog: ChildProcess, message: object): void {
    watchdog.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  private spawnWatchdog(): ChildProcess {
    const env = { ...process.env };
    // The parent may run under a loader (ts-node, swc) that the watchdog neither needs nor has.
    delete env['NODE_OPTIONS'];
    const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid), String(this.graceMs)], {
      cwd: os.tmpdir(),
      env,
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.once('exit', () => {
      if (this.watchdog === watchdog) this.watchdog = undefined;
    });
    watchdog.stdin?.on('error', () => undefined);
    // Neither the process nor its pipe may keep the parent's event loop alive.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.watchdog = watchdog;
    this.installExitHook();
    return watchdog;
  }

  private releaseIfIdle(): void {
    if (this.tracked.size > 0 || this.dirs.size > 0 || !this.watchdog) return;
    this.write(this.watchdog, { release: true });
    this.watchdog.stdin?.end();
    this.watchdog = undefined;
  }

  private installExitHook(): void {
    if (this.exitHookInstalled) return;
    this.exitHookInstalled = true;
    // Only synchronous work is possible here; the watchdog escalates to SIGKILL and removes directories.
    process.once('exit', () => {
      for (const { pid } of this.tracked.values()) signalTree(pid, 'SIGTERM');
    });
  }

  /** For diagnostics and tests. */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }
}

export const orphanGuard = new OrphanGuard();
