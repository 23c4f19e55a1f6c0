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
 * Debian stops serving a version when it ships a fix of it: the fix of the same release is then
 * fetched in its place, with a warning to pin it (`replacementFor`); any other change fails,
 * naming the one to update.
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

/** The pinned versions apt says it no longer serves, from its output. */
export function unservedPins(aptOutput: string): { readonly name: string; readonly version: string }[] {
  return [...aptOutput.matchAll(/Version '([^']+)' for '([^']+)' was not found/g)].map((m) => ({ name: m[2] ?? '', version: m[1] ?? '' }));
}

/** What to do about a pinned version Debian no longer serves. */
function unservedMessage(name: string, version: string): string {
  return (
    `Debian ${DEBIAN_SUITE} no longer serves ${name} ${version}: pin the version \`apt-cache policy ${name}\` offers ` +
    'in DEBIAN_PACKAGES (infra/local/src/debian-tools.ts)'
  );
}

/** The line apt writes for a pinned version it no longer serves, turned into what to do about it. */
export function unservedVersion(aptOutput: string): string | undefined {
  const [pin] = unservedPins(aptOutput);
  return pin && unservedMessage(pin.name, pin.version);
}

/** The version apt would fetch now: the Candidate line of `apt-cache policy`. */
export function candidateVersion(policyOutput: string): string | undefined {
  const candidate = /^\s*Candidate:\s*(\S+)\s*$/m.exec(policyOutput)?.[1];
  return candidate === undefined || candidate === '(none)' ? undefined : candidate;
}

/**
 * The version to fetch in place of a pin Debian no longer serves: the one it offers, when that is
 * a stable update of the same release (the same upstream version and Debian revision, another
 * `+debNNuM` or `~debNNuM`), as a security fix is. A new upstream version or revision is a change
 * to review, not to take unasked.
 */
export function replacementFor(pinned: string, offered: string | undefined): string | undefined {
  if (offered === undefined || offered === pinned) return undefined;
  const release = (version: string) => version.replace(/[+~]deb\d+u\d+$/, '');
  return release(offered) === release(pinned) ? offered : undefined;
}

async function fetchPackages(
  partial: string,
  home: string,
  packages: Readonly<Record<string, string>>,
  log: Log,
): Promise<Record<string, string>> {
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
  const versions: Record<string, string> = { ...packages };
  const policyLog = path.join(home, 'apt-policy.log');
  // apt names one unserved pin a try; each may need its own replacement.
  for (let attempt = 0; ; attempt++) {
    try {
      await runTool('apt-get', [...options, 'download', ...Object.entries(versions).map(([name, version]) => `${name}=${version}`)], tool);
      break;
    } catch (error) {
      const output = readFileSync(logFile, 'utf8');
      const unserved = unservedPins(output);
      if (unserved.length === 0 || attempt >= Object.keys(versions).length) throw error;
      for (const { name, version } of unserved) {
        await runTool('apt-cache', [...options, 'policy', name], { ...tool, logFile: policyLog });
        const offered = replacementFor(version, candidateVersion(readFileSync(policyLog, 'utf8')));
        if (offered === undefined) throw new Error(unservedMessage(name, version));
        log(
          `Debian ${DEBIAN_SUITE} no longer serves ${name} ${version}; fetching ${offered}, its update of the same release: pin it in DEBIAN_PACKAGES (infra/local/src/debian-tools.ts)`,
        );
        versions[name] = offered;
      }
    }
  }
  for (const deb of readdirSync(debs).filter((name) => name.endsWith('.deb'))) {
    await runTool('dpkg-deb', ['-x', path.join(debs, deb), partial], { ...tool, logFile: path.join(home, 'dpkg-deb.log') });
  }
  return versions;
}

const VERSIONS_FILE = 'debian-versions.json';

function toolsIn(root: string, packages: Readonly<Record<string, string>>): DebianTools {
  const libraries = ['usr/lib/x86_64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib/x86_64-linux-gnu', 'lib/aarch64-linux-gnu']
    .map((dir) => path.join(root, dir))
    .filter((dir) => existsSync(dir));
  return {
    nginx: path.join(root, 'usr', 'sbin', 'nginx'),
    kcat: path.join(root, 'usr', 'bin', 'kcat'),
    env: { LD_LIBRARY_PATH: libraries.join(':') },
    // What was fetched: the pins, or a fix Debian served in place of one.
    versions: existsSync(path.join(root, VERSIONS_FILE))
      ? (JSON.parse(readFileSync(path.join(root, VERSIONS_FILE), 'utf8')) as Record<string, string>)
      : packages,
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
export async function prepareDebianTools(
  log: Log = defaultLog,
  packages: Readonly<Record<string, string>> = DEBIAN_PACKAGES,
  cacheDir: string = cacheRoot(),
): Promise<DebianTools> {
  const source = JSON.stringify({
    suite: DEBIAN_SUITE,
    architecture: debianArchitecture(),
    packages,
    sources: sourcesFile(),
  });
  const root = await cachedArtifact(
    {
      home: path.join(cacheDir, `debian-tools-${DEBIAN_SUITE}`),
      source,
      output: 'root',
      what: `nginx and kcat from Debian ${DEBIAN_SUITE}`,
      announce: `fetching nginx and kcat from Debian ${DEBIAN_SUITE}'s packages (first run only)`,
      requirements: requireApt,
      build: async (partial, home) => {
        writeFileSync(path.join(partial, VERSIONS_FILE), JSON.stringify(await fetchPackages(partial, home, packages, log), null, 2));
        const tools = toolsIn(partial, packages);
        versionOf(tools, tools.nginx);
        versionOf(tools, tools.kcat);
      },
    },
    log,
  );
  return toolsIn(root, packages);
}

/** The version lines of `nginx -V` and `kcat -V` from the cache, for the warm-up's report. */
export function debianToolVersions(tools: DebianTools): { nginx: string; kcat: string } {
  return { nginx: versionOf(tools, tools.nginx), kcat: versionOf(tools, tools.kcat) };
}
