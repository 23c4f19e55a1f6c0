import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { orphanGuard } from './guard';
import { describeTails } from './processes';

export interface ToolOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logFile: string;
  /** A string the tool's command line contains, so the guard never signals a recycled pid. */
  readonly match: string;
}

/** Runs a build tool to completion with its output in a log file; the error quotes that log. */
export async function runTool(command: string, args: string[], options: ToolOptions): Promise<void> {
  const out = openSync(options.logFile, 'w');
  let child: ChildProcess;
  try {
    // Own process group so that, should the parent die mid-build, the guard can stop the whole build.
    child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid !== undefined) orphanGuard.track(pid, options.match);
  try {
    const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (status.code !== 0) {
      const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
      throw new Error(`${command} ${args.join(' ')} ${how}${describeTails([options.logFile])}`);
    }
  } finally {
    if (pid !== undefined) orphanGuard.untrack(pid);
  }
}
