import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExitStatus, freePort, SupervisedProcess } from './supervisor';

/** A node process running `source`, with its output piped to us unless a log file is given. */
function node(source: string, logFile?: string): SupervisedProcess {
  return new SupervisedProcess({ name: 'child', command: process.execPath, args: ['-e', source], env: {}, logFile });
}

const printed = (child: SupervisedProcess, text: string) => () => child.logs.includes(text);

/** The scheduler state of a pid: R, S, T (stopped) and so on. */
const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];

describe('SupervisedProcess', () => {
  const started: SupervisedProcess[] = [];
  const start = (child: SupervisedProcess) => {
    started.push(child);
    child.start();
    return child;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((child) => child.kill()));
  });

  it('stops on SIGTERM with the exit code, and that exit is not reported as unexpected', async () => {
    const child = start(node("process.on('SIGTERM', () => process.exit(0)); console.log('up'); setInterval(() => {}, 1000);"));
    const unexpected: ExitStatus[] = [];
    child.onUnexpectedExit((status) => unexpected.push(status));
    expect(await child.untilReady(printed(child, 'up'), 10000)).toEqual({ ready: true });
    expect(await child.stop(10000)).toBe(0);
    expect(child.running).toBe(false);
    expect(unexpected).toEqual([]);
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace is over', async () => {
    const child = start(node("process.on('SIGTERM', () => console.log('ignored')); console.log('up'); setInterval(() => {}, 1000);"));
    expect(await child.untilReady(printed(child, 'up'), 10000)).toEqual({ ready: true });
    expect(await child.stop(300)).toBeNull();
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(child.logs).toContain('ignored');
  });

  it('reports an exit nobody asked for, with its code', async () => {
    const child = start(node("console.log('failing'); process.exit(3);"));
    const unexpected: ExitStatus[] = [];
    child.onUnexpectedExit((status) => unexpected.push(status));
    expect(await child.whenExited()).toBe(3);
    expect(unexpected).toEqual([{ code: 3, signal: null }]);
    expect(child.exitStatus).toBe(3);
  });

  it('says a process exited before becoming ready rather than waiting out the timeout', async () => {
    const child = start(node('process.exit(2);'));
    const began = Date.now();
    const result = await child.untilReady(() => false, 60000);
    expect(result).toEqual({ ready: false, reason: 'child exited with code 2 before becoming ready' });
    expect(Date.now() - began).toBeLessThan(30000);
  });

  it('is ready when its health endpoint answers 200, and gives the last answer when it never does', async () => {
    const port = await freePort();
    const server = `require('node:http').createServer((q, s) => { s.statusCode = q.url === '/ok' ? 200 : 503; s.end(); }).listen(${port}, '127.0.0.1');`;
    const child = start(node(server));
    expect(await child.untilReady({ port, path: '/ok' }, 10000)).toEqual({ ready: true });
    expect(await child.untilReady({ port, path: '/never' }, 300)).toEqual({
      ready: false,
      reason: 'child not ready within 300 ms (last answer: 503)',
    });
  });

  it('pauses with SIGSTOP and resumes with SIGCONT', async () => {
    const child = start(node("console.log('up'); setInterval(() => {}, 1000);"));
    expect(await child.untilReady(printed(child, 'up'), 10000)).toEqual({ ready: true });
    const pid = child.pid as number;
    child.pause();
    await child.untilReady(() => state(pid) === 'T', 5000);
    expect(state(pid)).toBe('T');
    child.resume();
    expect(await child.untilReady(() => state(pid) !== 'T', 5000)).toEqual({ ready: true });
  });

  it('keeps the peak memory and CPU read while it ran after it is gone', async () => {
    const child = start(
      node("const keep = Buffer.alloc(64 * 1024 * 1024, 1); console.log('up', keep.length); setInterval(() => {}, 1000);"),
    );
    expect(await child.untilReady(printed(child, 'up'), 10000)).toEqual({ ready: true });
    await child.kill();
    expect(child.pid).toBeUndefined();
    const usage = child.usage();
    expect(usage.peakRssBytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(usage.cpuSeconds).toBeGreaterThan(0);
  });

  it('restarts with start(), appending to its log file, and its logs are those of the current incarnation', async () => {
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'supervisor-')), 'child.log');
    const child = node("console.log('incarnation', process.pid); process.exit(0);", logFile);
    started.push(child);
    child.start();
    const first = child.pid;
    await child.whenExited();
    child.start();
    const second = child.pid;
    await child.whenExited();
    expect(second).not.toBe(first);
    expect(readFileSync(logFile, 'utf8')).toBe(`incarnation ${first}\nincarnation ${second}\n`);
    expect(child.logs).toBe(`incarnation ${second}\n`);
    expect(() => child.onOutput(() => undefined)).toThrow(/writes to/);
  });
});
