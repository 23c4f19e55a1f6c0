import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cachedArtifact } from './prepare';
import { runTool } from './run-tool';
import { cacheRoot, defaultLog, Log } from './settings';

/**
 * Installs a pinned requirements file from PyPI into the cache once per content of the file (and
 * per Python release, since wheels are built for one), with pip into a directory of its own: no
 * virtual environment to activate, nothing installed for the machine's Python. Returns the
 * directory to put on `PYTHONPATH`.
 */
export async function preparePythonPackages(name: string, requirements: string, log: Log = defaultLog): Promise<string> {
  const pinned = readFileSync(requirements, 'utf8');
  const python = pythonVersion();
  return cachedArtifact(
    {
      home: path.join(cacheRoot(), `python-${name}`),
      source: createHash('sha256').update(`${python}\n${pinned}`).digest('hex'),
      output: 'site',
      what: `${name} (${pinned.trim().split('\n').join(', ')})`,
      announce: `installing ${pinned.trim().split('\n').join(', ')} from PyPI for ${python} (first run only)`,
      build: (partial, home) =>
        runTool(
          'python3',
          ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--target', partial, '-r', requirements],
          {
            env: process.env,
            cwd: home,
            logFile: path.join(home, 'pip.log'),
            match: partial,
          },
        ),
    },
    log,
  );
}

/** `Python 3.x.y` of the `python3` on PATH; wheels and compiled files belong to one release. */
function pythonVersion(): string {
  const result = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new Error('python3 (3.9 or later, with pip) is needed on PATH and was not found');
  return `${result.stdout}${result.stderr}`.trim();
}
