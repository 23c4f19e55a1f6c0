// How a results file names another checkout of the repository: by its commit, never by where it
// lies on the machine that ran the benchmark.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** How results name the checkout the benchmark runs from. */
export const THIS_CHECKOUT = 'this checkout';

const git = (dir: string, args: readonly string[]): string =>
  execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

/** `commit 1a2b3c4`, with ` and changes` when its tracked files differ from it; the folder's name when it is no git checkout. */
export function checkoutName(dir: string): string {
  try {
    const commit = git(dir, ['rev-parse', '--short', 'HEAD']);
    const changed = git(dir, ['status', '--porcelain', '--untracked-files=no']) !== '';
    return `commit ${commit}${changed ? ' and changes' : ''}`;
  } catch {
    return path.basename(dir);
  }
}

/** A module of a built checkout; the error says to build it when it is not there. */
export function loadBuilt<T>(file: string, what = ''): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as T;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot load ${what === '' ? '' : `${what} `}${file} (build that checkout first): ${why}`);
  }
}
