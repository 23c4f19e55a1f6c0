import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a promise for at most `ms`; the timer is cleared so it never holds the event loop open. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ done: true as const, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the pid exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The command line of a process, used to make sure a recorded pid still belongs to one of our
 * servers before signalling it: pids are recycled, and a stale pid file must never kill a stranger.
 */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** Signals the whole process group when the pid leads one (servers are spawned detached), else the pid. */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    // Not a group leader, or already gone: fall back to the pid itself.
  }
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Stops a process that is not our child (so no exit event): poll for its disappearance. */
export async function terminatePid(pid: number, graceMs: number): Promise<void> {
  signalTree(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) signalTree(pid, 'SIGKILL');
  const hardDeadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < hardDeadline) await delay(100);
}

/** The last lines of a log file, for error messages. */
export function tailOf(file: string, lines = 40): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 16384);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').slice(-lines).join('\n').trimEnd();
  } finally {
    closeSync(fd);
  }
}

export function describeTails(files: string[]): string {
  const parts = files
    .map((file) => ({ file, tail: tailOf(file) }))
    .filter((entry) => entry.tail !== '')
    .map((entry) => `--- ${entry.file} (tail) ---\n${entry.tail}`);
  return parts.length > 0 ? `\n${parts.join('\n')}` : ' (no server output was written)';
}

export interface ServerCommand {
  readonly name: string;
  readonly command: string;
  readonly args: string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** stdout and stderr of the server, appended across restarts. */
  readonly outputFile: string;
  /** Where the pid is recorded so a later launch can clean up after a crashed one. */
  readonly pidFile: string;
  /** A string the server's command line is sure to contain (a path in its run directory). */
  readonly match: string;
}

/** Told about every server pid, so something outside this process can kill it if we die. */
export interface PidTracker {
  track(pid: number, match: string): void;
  untrack(pid: number): void;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One long-running server. It is spawned in its own process group so a Ctrl-C in the terminal
 * reaches only the parent, which then shuts servers down in order instead of all at once.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<ExitStatus> | undefined;
  private exitStatus: ExitStatus | undefined;

  constructor(
    private readonly spec: ServerCommand,
    private readonly tracker: PidTracker,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitStatus === undefined;
  }

  /** Resolves when the current incarnation exits. */
  get exited(): Promise<ExitStatus> {
    return this.exit ?? Promise.resolve({ code: null, signal: null });
  }

  start(): void {
    if (this.running) return;
    const out = openSync(this.spec.outputFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env,
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    this.exitStatus = undefined;
    this.exit = new Promise<ExitStatus>((resolve) => {
      child.once('error', (error) => {
        this.exitStatus = { code: -1, signal: null };
        writeFileSync(this.spec.outputFile, `failed to spawn ${this.spec.command}: ${error.message}\n`, { flag: 'a' });
        resolve(this.exitStatus);
      });
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        if (child.pid !== undefined) this.tracker.untrack(child.pid);
        rmSync(this.spec.pidFile, { force: true });
        resolve(this.exitStatus);
      });
    });
    // A forgotten stop() must not keep the parent alive; exit hooks and the guard still clean up.
    child.unref();
    this.child = child;
    if (child.pid !== undefined) {
      writeFileSync(this.spec.pidFile, `${child.pid}\n`);
      this.tracker.track(child.pid, this.spec.match);
    }
  }

  /** SIGKILL, no grace: the crash a fault test injects. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running || child.pid === undefined) return;
    signalTree(child.pid, 'SIGKILL');
    await within(this.exited, 10000);
  }

  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || !this.running || child.pid === undefined) return;
    signalTree(child.pid, 'SIGTERM');
    if (!(await within(this.exited, graceMs)).done) {
      signalTree(child.pid, 'SIGKILL');
      await within(this.exited, 10000);
    }
  }
}

/** One GET of a loopback health endpoint: its status code, or why there was none. */
export function httpStatus(port: number, healthPath: string): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: healthPath, timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 'no status');
    });
    request.once('timeout', () => request.destroy(new Error('timed out')));
    request.once('error', (error) => resolve(error.message));
  });
}

/**
 * Starts a server and polls its health endpoint until it answers 200. Resolves with the reason
 * it did not: it exited first, or `timeoutMs` passed (with the last answer).
 */
export async function startUntilHealthy(
  server: ServerProcess,
  port: number,
  healthPath: string,
  timeoutMs: number,
): Promise<{ ready: true } | { ready: false; reason: string }> {
  server.start();
  let exitedEarly: string | undefined;
  void server.exited.then((status) => {
    exitedEarly = `exited with ${status.signal ?? `code ${status.code}`}`;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitedEarly) return { ready: false, reason: `the server ${exitedEarly} before becoming ready` };
    const last = await httpStatus(port, healthPath);
    if (last === 200) return { ready: true };
    if (Date.now() > deadline) return { ready: false, reason: `not ready within ${timeoutMs} ms (last health answer: ${last})` };
    await delay(100);
  }
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function modifiedMsAgo(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
