import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandLine, isAlive, modifiedMsAgo, readPidFile } from './processes';
import { terminatePid } from './supervisor';
import { keepRunDirs, Log, runsRoot } from './settings';

const OWNER_FILE = 'owner.json';
export const PID_SUFFIX = '.pid';

interface Owner {
  readonly pid: number;
  readonly startedAt: string;
}

function readOwner(runDir: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(path.join(runDir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/**
 * Stops servers recorded in a run directory whose launcher is gone. A pid is only signalled when
 * its command line still mentions the run directory, because every server is started with paths
 * inside it; anything else is a recycled pid that now belongs to someone else.
 */
async function stopRecordedServers(runDir: string, log: Log): Promise<void> {
  const pidFiles = existsSync(runDir) ? readdirSync(runDir).filter((name) => name.endsWith(PID_SUFFIX)) : [];
  for (const name of pidFiles) {
    const file = path.join(runDir, name);
    const pid = readPidFile(file);
    if (pid !== undefined && isAlive(pid) && (commandLine(pid) ?? '').includes(runDir)) {
      log(`stopping ${name.slice(0, -PID_SUFFIX.length)} (pid ${pid}) left over from a crashed launch`);
      await terminatePid(pid, 5000);
    }
    rmSync(file, { force: true });
  }
}

/** Clears what a previous launch that died without cleaning up (and whose watchdog died too) left behind. */
export async function cleanStaleRuns(log: Log): Promise<void> {
  const root = runsRoot();
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const runDir = path.join(root, entry.name);
    const owner = readOwner(runDir);
    if (owner ? isAlive(owner.pid) : modifiedMsAgo(runDir) < 60000) continue;
    await stopRecordedServers(runDir, log);
    if (!keepRunDirs()) rmSync(runDir, { recursive: true, force: true });
  }
}

export interface RunDir {
  readonly path: string;
  /** True when this module chose the directory and so may delete it on stop. */
  readonly owned: boolean;
}

export async function createRunDir(requested: string | undefined, log: Log): Promise<RunDir> {
  await cleanStaleRuns(log);
  if (requested) {
    const dir = path.resolve(requested);
    mkdirSync(dir, { recursive: true });
    // A caller-chosen directory may hold servers from an earlier crashed launch as well.
    await stopRecordedServers(dir, log);
    writeFileSync(path.join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`);
    return { path: dir, owned: false };
  }
  const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = path.join(runsRoot(), id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`);
  return { path: dir, owned: true };
}
