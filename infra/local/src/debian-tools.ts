import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cachedArtifact } from './prepare';
import { runTool } from './run-tool';
import { cacheRoot, defaultLog, Log } from './settings';

/** The Debian release the tools come from, and where apt finds it. */
export const DEBIAN_SUITE = 'bookworm';
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * Exact versions of what is fetched: the tools and the libraries they link that a minimal Debian
 * (its required packages: libc6, libcrypt1, libpcre2-8-0, zlib1g, liblz4-1, libzstd1) lacks.
 * Debian replaces a version when it ships a fix; the fetch then fails naming the one to update.
 */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  nginx: '1.22.1-9+deb12u12',
  kcat: '1.7.1-2',
  librdkafka1: '2.0.2-1',
  libyajl2: '2.1.0-3+deb12u2',
  libssl3: '3.0.22-1~deb12u2',
  'libsasl2-2': '2.1.28+dfsg-10+deb12u1',
  'libsasl2-modules-db': '2.1.28+dfsg-10+deb12u1',
  'libdb5.3': '5.3.28+dfsg2-1',
};

export interface DebianTools {
  /** The nginx binary; run it with `env`, and always with `-p`, `-c` and `-e` (its compiled-in paths are the system's). */
  readonly nginx: string;
  readonly kcat: string;
  /** What every run of the tools needs: the bundled libraries first on the loader's path. */
  readonly env: Record<string, string>;
  readonly versions: Readonly<Record<string, string>>;
}

/** Debian's own archive, signed by the keyring every Debian machine has, whatever its own sources say. */
function sourcesFile(): string {
  const entry = (uri: string, suites: string) =>
    `Types: deb\nURIs: ${uri}\nSuites: ${suites}\nComponents: main\nSigned-By: ${DEBIAN_KEYRING}\n`;
  return [
    entry('http://deb.debian.org/debian', `${DEBIAN_SUITE} ${DEBIAN_SUITE}-updates`),
    entry('http://deb.debian.org/debian-security', `${DEBIAN_SUITE}-security`),
  ].join('\n');
}

const DEB_ARCHITECTURES: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

function debianArchitecture(): string {
  const architecture = DEB_ARCHITECTURES[process.arch];
  if (!architecture) throw new Error(`no Debian packages for the ${process.arch} architecture`);
  return architecture;
}

function requireApt(): void {
  for (const tool of ['apt-get', 'dpkg-deb']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new Error(`${tool} not found: nginx and kcat are fetched from Debian's packages with apt-get and dpkg-deb`);
    }
  }
  if (!existsSync(DEBIAN_KEYRING))
    throw new Error(`${DEBIAN_KEYRING} not found: install debian-archive-keyring to check Debian's packages`);
}

/**
 * apt with a state of its own under the cache: its own sources, lists and downloads, no system
 * configuration fragments and no dpkg database, so it runs as any user and changes nothing on the
 * machine. As root, apt would drop to `_apt` for downloads, which cannot write to the cache.
 */
function aptOptions(state: string, user: string): string[] {
  const settings: Record<string, string> = {
    'Dir::State::Lists': path.join(state, 'lists'),
    'Dir::State::status': '/dev/null',
    'Dir::Cache': path.join(state, 'cache'),
    'Dir::Etc::SourceList': '/dev/null',
    'Dir::Etc::SourceParts': path.join(state, 'sources.list.d'),
    'Dir::Etc::Parts': path.join(state, 'apt.conf.d'),
    'Dir::Etc::Preferences': '/dev/null',
    'Dir::Etc::PreferencesParts': path.join(state, 'preferences.d'),
    'APT::Architecture': debianArchitecture(),
    'APT::Architectures': debianArchitecture(),
    'APT::Sandbox::User': user,
    'Acquire::Languages': 'none',
    'Debug::NoLocking': 'true',
  };
  return Object.entries(settings).flatMap(([name, value]) => ['-o', `${name}=${value}`]);
}

function currentUser(): string {
  const result = spawnSync('id', ['-un'], { encoding: 'utf8' });
  const name = result.stdout?.trim();
  if (result.status !== 0 || !name) throw new Error('id -un failed: cannot name the user apt downloads as');
  return name;
}

/** The line apt writes for a pinned version it no longer serves, turned into what to do about it. */
export function unservedVersion(aptOutput: string): string | undefined {
  const match = /Version '([^']+)' for '([^']+)' was not found/.exec(aptOutput);
  if (!match) return undefined;
  return (
    `Debian ${DEBIAN_SUITE} no longer serves ${match[2]} ${match[1]}: pin the version \`apt-cache policy ${match[2]}\` offers ` +
    'in DEBIAN_PACKAGES (infra/local/src/debian-tools.ts)'
  );
}

async function fetchPackages(partial: string, home: string): Promise<void> {
  const state = path.join(home, 'apt');
  for (const dir of ['lists/partial', 'cache/archives/partial', 'sources.list.d', 'apt.conf.d', 'preferences.d']) {
    mkdirSync(path.join(state, dir), { recursive: true });
  }
  writeFileSync(path.join(state, 'sources.list.d', 'debian.sources'), sourcesFile());
  const options = aptOptions(state, currentUser());
  // Emptied first: an earlier, failed fetch may have left other versions there.
  const debs = path.join(home, 'debs');
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  const logFile = path.join(home, 'apt.log');
  const tool = { env: process.env, cwd: debs, logFile, match: state };
  await runTool('apt-get', [...options, 'update'], tool);
  const pinned = Object.entries(DEBIAN_PACKAGES).map(([name, version]) => `${name}=${version}`);
  try {
    await runTool('apt-get', [...options, 'download', ...pinned], tool);
  } catch (error) {
    const unserved = unservedVersion(readFileSync(logFile, 'utf8'));
    throw unserved ? new Error(unserved) : error;
  }
  for (const deb of readdirSync(debs).filter((name) => name.endsWith('.deb'))) {
    await runTool('dpkg-deb', ['-x', path.join(debs, deb), partial], { ...tool, logFile: path.join(home, 'dpkg-deb.log') });
  }
}

function toolsIn(root: string): DebianTools {
  const libraries = ['usr/lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib/x86_64-linux-gnu', 'lib/aarch64-linux-gnu']
    .map((dir) => path.join(root, dir))
    .filter((dir) => existsSync(dir));
  return {
    nginx: path.join(root, 'usr', 'sbin', 'nginx'),
    kcat: path.join(root, 'usr', 'bin', 'kcat'),
    env: { LD_LIBRARY_PATH: libraries.join(':') },
    versions: DEBIAN_PACKAGES,
  };
}

/** `tool -V` from the unpacked packages: what a broken bundle (a library missing) fails first. */
function versionOf(tools: DebianTools, binary: string): string {
  const result = spawnSync(binary, ['-V'], { env: { ...process.env, ...tools.env }, encoding: 'utf8', timeout: 10000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`${binary} -V failed (${String(result.status ?? result.signal)}):\n${output.slice(-2000)}`);
  return (
    output
      .split('\n')
      .find((line) => /version/i.test(line))
      ?.trim() ?? ''
  );
}

/**
 * nginx and kcat from Debian's packages, downloaded and unpacked into the cache once per pinned
 * set, never installed: a machine needs apt-get and dpkg-deb, not root.
 */
export async function prepareDebianTools(log: Log = defaultLog): Promise<DebianTools> {
  const source = JSON.stringify({
    suite: DEBIAN_SUITE,
    architecture: debianArchitecture(),
    packages: DEBIAN_PACKAGES,
    sources: sourcesFile(),
  });
  const root = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `debian-tools-${DEBIAN_SUITE}`),
      source,
      output: 'root',
      what: `nginx ${DEBIAN_PACKAGES['nginx'] ?? ''} and kcat ${DEBIAN_PACKAGES['kcat'] ?? ''}`,
      announce: `fetching nginx and kcat from Debian ${DEBIAN_SUITE}'s packages (first run only)`,
      requirements: requireApt,
      build: async (partial, home) => {
        await fetchPackages(partial, home);
        const tools = toolsIn(partial);
        versionOf(tools, tools.nginx);
        versionOf(tools, tools.kcat);
      },
    },
    log,
  );
  return toolsIn(root);
}

/** The version lines of `nginx -V` and `kcat -V` from the cache, for the warm-up's report. */
export function debianToolVersions(tools: DebianTools): { nginx: string; kcat: string } {
  return { nginx: versionOf(tools, tools.nginx), kcat: versionOf(tools, tools.kcat) };
}
