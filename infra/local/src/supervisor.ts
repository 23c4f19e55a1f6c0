// The one way this project runs a process it depends on: the local servers, the services under
// test, npm start's fleet, the reliability fleet and the benchmark peers. Start with an environment
// and a log, readiness by a real probe, signals, exits (asked for or not), memory and CPU, restarts.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { isolatedTopics } from '@weblog/kafka-common/testing';
import { delay, isAlive, within } from './processes';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Told about every server pid, so something outside this process can kill it if we die. */
export interface PidTracker {
  track(pid: number, match: string): void;
  untrack(pid: number): void;
}

export interface ProcessSpec {
  /** What messages call it. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Its whole environment: nothing of ours is inherited that is not in here. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * stdout and stderr go straight to this file, appended across restarts, so a chatty process never
   * waits on our event loop. Without one they are piped to us and the recent part kept in memory.
   */
  readonly logFile?: string;
  /** Its own process group: a Ctrl-C in the terminal reaches only us, and signals reach its whole tree. */
  readonly ownProcessGroup?: boolean;
  /**
   * A server that outlives a crash of ours until a later launch or the watchdog cleans up: its pid
   * is recorded and tracked, and it neither holds our event loop open nor dies with us. Anything
   * else is SIGKILLed when we exit.
   */
  readonly owner?: { readonly pidFile: string; readonly tracker: PidTracker; readonly match: string };
}

/** What the process must show before it counts as ready: an HTTP answer of 200, or any observation. */
export type ReadinessProbe = { readonly port: number; readonly path: string } | (() => Promise<boolean> | boolean);

export type ReadyResult = { ready: true } | { ready: false; reason: string };

/** Memory and CPU of a process, as last read while it ran. */
export interface Usage {
  /** The kernel's high-water mark of resident memory. */
  readonly peakRssBytes: number;
  /** User and system time of all its threads. */
  readonly cpuSeconds: number;
}

const RECENT_CHUNKS = 1000;
const LOG_TAIL_BYTES = 256 * 1024;

/**
 * One supervised process. `start()` runs a new incarnation whenever the previous one has exited,
 * so one object follows a server through restarts.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<ExitStatus> | undefined;
  private status: ExitStatus | undefined;
  /** Set by stop(), kill() and signals that end it: the exit that follows was asked for. */
  private exitRequested = false;
  private readonly recent: string[] = [];
  private readonly outputListeners: ((chunk: Buffer) => void)[] = [];
  private readonly unexpectedExitListeners: ((status: ExitStatus) => void)[] = [];
  /** Where this incarnation's output starts in the log file. */
  private logOffset = 0;
  private lastUsage: Usage = { peakRssBytes: 0, cpuSeconds: 0 };

  constructor(readonly spec: ProcessSpec) {}

  /** Any command, with PATH and the given environment only, started at once. */
  static spawn(name: string, command: string, args: readonly string[], env: Record<string, string>): SupervisedProcess {
    const supervised = new SupervisedProcess({ name, command, args, env: { PATH: process.env['PATH'] ?? '', ...env } });
    supervised.start();
    return supervised;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The pid of the running incarnation; undefined once it has exited. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.status === undefined;
  }

  /** The exit code of the last incarnation, or undefined while it runs. */
  get exitStatus(): number | null | undefined {
    return this.status?.code;
  }

  /** Resolves when the current incarnation exits. */
  get exited(): Promise<ExitStatus> {
    return this.exit ?? Promise.resolve({ code: null, signal: null });
  }

  /** Resolves with the exit code whenever the current incarnation ends, however long that takes. */
  async whenExited(): Promise<number | null> {
    return (await this.exited).code;
  }

  /** The recent output of the current incarnation. */
  get logs(): string {
    if (!this.spec.logFile) return this.recent.join('');
    return readFrom(this.spec.logFile, this.logOffset, LOG_TAIL_BYTES);
  }

  /** Every chunk the process writes, as it comes; only for output piped to us (no log file). */
  onOutput(listener: (chunk: Buffer) => void): void {
    if (this.spec.logFile) throw new Error(`${this.name} writes to ${this.spec.logFile}, not to us`);
    this.outputListeners.push(listener);
  }

  /** Called for every exit nobody asked for with stop(), kill() or a terminating signal. */
  onUnexpectedExit(listener: (status: ExitStatus) => void): void {
    this.unexpectedExitListeners.push(listener);
  }

  start(): void {
    if (this.running) return;
    const { spec } = this;
    const out = spec.logFile === undefined ? undefined : openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      if (spec.logFile) this.logOffset = statSync(spec.logFile).size;
      const stdio = out === undefined ? 'pipe' : out;
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: spec.ownProcessGroup ?? false,
        stdio: ['ignore', stdio, stdio],
      });
    } finally {
      if (out !== undefined) closeSync(out);
    }
    if (out === undefined) {
      this.recent.length = 0;
      // The recent output only: a long-running process must not grow our memory.
      const keep = (chunk: Buffer) => {
        this.recent.push(chunk.toString('utf8'));
        if (this.recent.length > RECENT_CHUNKS) this.recent.splice(0, this.recent.length - RECENT_CHUNKS);
        for (const listener of this.outputListeners) listener(chunk);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
    }
    this.status = undefined;
    this.exitRequested = false;
    const killOnExit = () => child.kill('SIGKILL');
    this.exit = new Promise<ExitStatus>((resolve) => {
      // A failed kill() may emit 'error' besides 'exit': one ending per incarnation.
      let over = false;
      const ended = (status: ExitStatus) => {
        if (over) return;
        over = true;
        this.status = status;
        process.removeListener('exit', killOnExit);
        if (!this.exitRequested) for (const listener of this.unexpectedExitListeners) listener(status);
        resolve(status);
      };
      child.once('error', (error) => {
        const message = `failed to spawn ${spec.command}: ${error.message}\n`;
        if (spec.logFile) writeFileSync(spec.logFile, message, { flag: 'a' });
        else this.recent.push(message);
        ended({ code: -1, signal: null });
      });
      child.once('exit', (code, signal) => {
        if (spec.owner && child.pid !== undefined) {
          spec.owner.tracker.untrack(child.pid);
          rmSync(spec.owner.pidFile, { force: true });
        }
        ended({ code, signal });
      });
    });
    this.child = child;
    if (spec.owner) {
      // A forgotten stop() must not keep us alive; exit hooks and the watchdog still clean up.
      child.unref();
      if (child.pid !== undefined) {
        writeFileSync(spec.owner.pidFile, `${child.pid}\n`);
        spec.owner.tracker.track(child.pid, spec.owner.match);
      }
    } else {
      process.once('exit', killOnExit);
    }
  }

  /**
   * Polls the probe until it holds. Resolves with the reason it did not: the process exited first,
   * or `timeoutMs` passed (with the last answer).
   */
  async untilReady(probe: ReadinessProbe, timeoutMs: number): Promise<ReadyResult> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      if (!this.running) {
        const status = this.status ?? { code: null, signal: null };
        return { ready: false, reason: `${this.name} exited with ${status.signal ?? `code ${String(status.code)}`} before becoming ready` };
      }
      if (typeof probe === 'function') {
        try {
          if (await probe()) return { ready: true };
          last = 'not yet';
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
        }
      } else {
        const answer = await httpStatus(probe.port, probe.path);
        if (answer === 200) return { ready: true };
        last = String(answer);
      }
      if (Date.now() > deadline) return { ready: false, reason: `${this.name} not ready within ${timeoutMs} ms (last answer: ${last})` };
      await delay(100);
    }
  }

  /** Sends a signal to the process, or to its whole group when it has one of its own. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    this.sampleUsage();
    if (signal === 'SIGTERM' || signal === 'SIGKILL' || signal === 'SIGINT') this.exitRequested = true;
    if (this.spec.ownProcessGroup) signalTree(pid, signal);
    else this.child?.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`: resolves with the exit code. */
  async stop(graceMs = 30000): Promise<number | null> {
    if (!this.running) return this.exitStatus ?? null;
    this.signal('SIGTERM');
    if (!(await within(this.exited, graceMs)).done) {
      this.signal('SIGKILL');
      await within(this.exited, 10000);
    }
    return this.exitStatus ?? null;
  }

  /** SIGKILL, no grace: the crash a fault test injects. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGKILL');
    await within(this.exited, 10000);
  }

  /** SIGSTOP: the process hangs (a long GC pause, a frozen VM) until resume(). */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** Waits for the exit; fails with the recent output if it takes longer than `timeoutMs`. */
  async waitForExit(timeoutMs = 30000): Promise<number | null> {
    const outcome = await within(this.exited, timeoutMs);
    if (!outcome.done) throw new Error(`${this.name} did not exit within ${timeoutMs} ms:\n${this.logs.slice(-2000)}`);
    return outcome.value.code;
  }

  /**
   * Memory and CPU, read now while it runs, else as last read: a process that is gone takes its
   * figures with it, so a signal sent through here reads them first.
   */
  usage(): Usage {
    this.sampleUsage();
    return this.lastUsage;
  }

  private sampleUsage(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    const peak = peakRssBytes(pid);
    if (peak > 0) this.lastUsage = { peakRssBytes: peak, cpuSeconds: cpuSeconds(pid) };
  }
}

/** A local server (Kafka, S3) in its own process group, logging to a file and tracked by the watchdog. */
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

/**
 * A long-running server, spawned in its own process group so a Ctrl-C in the terminal reaches only
 * the parent, which then shuts servers down in order instead of all at once.
 */
export class ServerProcess extends SupervisedProcess {
  constructor(command: ServerCommand, tracker: PidTracker) {
    super({
      name: command.name,
      command: command.command,
      args: command.args,
      env: command.env,
      cwd: command.cwd,
      logFile: command.outputFile,
      ownProcessGroup: true,
      owner: { pidFile: command.pidFile, tracker, match: command.match },
    });
  }
}

/** Starts a server and polls its health endpoint until it answers 200, or says why it did not. */
export async function startUntilHealthy(
  server: SupervisedProcess,
  port: number,
  healthPath: string,
  timeoutMs: number,
): Promise<ReadyResult> {
  server.start();
  return server.untilReady({ port, path: healthPath }, timeoutMs);
}

/** The repository root, from src/ or dist/ alike. */
const repositoryRoot = path.resolve(__dirname, '../../..');

/** The built entry point of an app (`npm test` builds before the e2e run). */
export function serviceMain(app: string, script = 'main.js'): string {
  return path.join(repositoryRoot, 'apps', app, 'dist', script);
}

/**
 * Node's own options a service's main process runs with, here and in the deployment files
 * (Compose's `command` and the Deployment's `args`, after the image's `node` entry point; the
 * deployment checks hold them to this). The transformer's main thread, with kafkajs's fetch
 * decoding and produce encoding, spent 10 to 16 % of its time in young-generation collections
 * under V8's default: a 32 MiB semi-space gave 1.11x and 1.09x its records/s (BENCHMARKS.md).
 */
export const SERVICE_NODE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  transformer: ['--max-semi-space-size=32'],
};

/**
 * What follows `node` to start an app's main process: its Node options, then its entry point,
 * relative to the repository (and the image's working directory) unless `entry` is given.
 */
export function serviceArgs(app: string, entry = `apps/${app}/dist/main.js`): string[] {
  return [...(SERVICE_NODE_OPTIONS[app] ?? []), entry];
}

/** The same with the entry point's full path, as this launcher starts it. */
function mainProcessArgs(app: string): string[] {
  return serviceArgs(app, serviceMain(app));
}

/** Environment for a service: the launcher's Kafka and S3, nothing else of the parent. */
export function serviceEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const inherited = [
    'PATH',
    'HOME',
    'KAFKA_BROKERS',
    'S3_ENDPOINT',
    'S3_REGION',
    'S3_FORCE_PATH_STYLE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
  ];
  const env: Record<string, string> = { TZ: 'UTC', LOG_LEVEL: 'warn' };
  for (const name of inherited) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...overrides };
}

/** One of our services started as its own process, as it runs in production. */
export class ServiceProcess extends SupervisedProcess {
  private constructor(
    readonly app: string,
    readonly port: number,
    spec: ProcessSpec,
  ) {
    super(spec);
  }

  /**
   * Starts an app's built entry point, on a free port unless `port` is given. With
   * `ownProcessGroup`, a Ctrl-C in the terminal reaches only the caller, which can then stop the
   * services in order; they are still killed if the caller exits.
   */
  static async start(
    app: string,
    overrides: Record<string, string> = {},
    options: { port?: number; ownProcessGroup?: boolean; logFile?: string } = {},
  ): Promise<ServiceProcess> {
    const listenPort = options.port ?? (await freePort());
    const service = new ServiceProcess(app, listenPort, {
      name: app,
      command: process.execPath,
      args: mainProcessArgs(app),
      // Servers started for tests and local runs listen on loopback only.
      env: serviceEnvironment({ PORT: String(listenPort), HTTP_HOST: '127.0.0.1', ...overrides }),
      logFile: options.logFile,
      ownProcessGroup: options.ownProcessGroup,
    });
    service.start();
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Waits until `GET /health/ready` answers 200; fails early with the logs if the process died. */
  async ready(timeoutMs = 60000): Promise<void> {
    const result = await this.untilReady({ port: this.port, path: '/health/ready' }, timeoutMs);
    if (!result.ready) throw new Error(`${this.app} did not become ready: ${result.reason}\n${this.logs.slice(-4000)}`);
  }

  async get(pathName: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`${this.url}${pathName}`);
    return { status: response.status, text: await response.text() };
  }
}

/** Runs a service to completion (for start-up failures) and returns its exit status and output. */
export function runServiceToExit(
  app: string,
  env: Record<string, string>,
  timeoutMs = 20000,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, mainProcessArgs(app), { env, encoding: 'utf8', timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs one of an app's commands (for example the archiver's `replay.js`) to completion. */
export function runCommand(
  app: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 120000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serviceMain(app, script), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Starts an app with a bad variable: it must exit 1 with exactly one line naming the variable. */
export function checkConfigRejected(app: string, variable: string, overrides: Record<string, string>): void {
  const result = runServiceToExit(app, serviceEnvironment(overrides));
  const lines = result.stderr.trim().split('\n');
  if (result.status !== 1 || lines.length !== 1 || !lines[0]?.startsWith(`Invalid configuration: ${variable} `)) {
    throw new Error(`${app} with bad ${variable}: exit ${String(result.status)}, stderr:\n${result.stderr}`);
  }
}

/**
 * Starts an app against the launched Kafka (and S3): it must become ready, answer liveness, serve
 * its default metrics labelled with its service name, and exit 0 on SIGTERM.
 */
export async function checkStartsAndStops(app: string, service: string): Promise<void> {
  const process = await ServiceProcess.start(app, isolatedTopics(`${app}-startup`).env);
  let failure: Error | undefined;
  try {
    await process.ready();
    const live = await process.get('/health/live');
    const metrics = await process.get('/metrics');
    if (live.status !== 200) failure = new Error(`${app} /health/live answered ${live.status}`);
    else if (metrics.status !== 200 || !metrics.text.includes(`process_cpu_user_seconds_total{service="${service}"}`)) {
      failure = new Error(`${app} /metrics lacks its labelled default metrics:\n${metrics.text.slice(0, 500)}`);
    }
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  const code = await process.stop();
  if (failure) throw failure;
  if (code !== 0) throw new Error(`${app} exited ${String(code)} on SIGTERM:\n${process.logs.slice(-2000)}`);
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
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

/** Peak resident memory of a running process so far (the kernel's high-water mark), in bytes; 0 once it is gone. */
export function peakRssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system, all threads) a running process has used so far, in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100;
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
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

/** Up to `maxBytes` of a file from `offset` on, the last ones when there are more. */
function readFrom(file: string, offset: number, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const start = Math.max(offset, size - maxBytes);
    const buffer = Buffer.alloc(Math.max(size - start, 0));
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
