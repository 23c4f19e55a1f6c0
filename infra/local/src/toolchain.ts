import { spawnSync } from 'node:child_process';

/** The first line of a tool's version banner, or undefined when the tool is not on PATH. */
function versionBanner(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30000 });
  if (result.error || result.status !== 0) return undefined;
  // `java -version` writes to stderr, the others to stdout.
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  return text.split('\n').find((line) => line.trim() !== '');
}

/** Kafka 4 brokers refuse to start on anything older than Java 17. */
export function requireJava(): void {
  const install = 'install a JDK (apt-get install openjdk-17-jre-headless)';
  const banner = versionBanner('java', ['-version']);
  if (!banner) throw new Error(`java 17+ not found on PATH: ${install}`);
  const quoted = /version "([^"]+)"/.exec(banner)?.[1] ?? '';
  // Java 8 and older report "1.8.0_x"; 9+ report the major version first.
  const parts = quoted.split('.');
  const major = parts[0] === '1' ? Number(parts[1]) : Number(parts[0]);
  if (!Number.isFinite(major) || major < 17) {
    throw new Error(`java 17+ required but PATH has ${quoted || banner.trim()}: ${install}`);
  }
}

export function requireMaven(): void {
  if (!versionBanner('mvn', ['-v'])) {
    throw new Error('mvn not found on PATH: install Apache Maven 3.6.3+ (apt-get install maven)');
  }
}

/**
 * The Go release every build uses. A machine with another Go (1.21 or later) fetches this one from
 * the Go module proxy by itself (the golang.org/toolchain module, GOTOOLCHAIN), so every machine
 * builds the same binaries and none needs a Go newer than its distribution's.
 */
export const GO_TOOLCHAIN = '1.26.8';

/** Go 1.21 is the first release that switches to the toolchain GOTOOLCHAIN names. */
const GO_SWITCHING = '1.21';

/**
 * A Go on PATH that can run the pinned toolchain, and a pin that covers what the module needs
 * (`minimum`, its go.mod's go line): MinIO's 1.24, Prometheus's and BuildKit's newer.
 */
export function requireGo(minimum = '1.24'): void {
  if (compareVersions(GO_TOOLCHAIN, minimum) < 0) {
    throw new Error(`the pinned Go toolchain ${GO_TOOLCHAIN} is older than the ${minimum} a module asks for: raise GO_TOOLCHAIN`);
  }
  const install = `install Go ${GO_SWITCHING}+ (apt-get install golang-go, or https://go.dev/dl/)`;
  const banner = versionBanner('go', ['version']);
  if (!banner) throw new Error(`go ${GO_SWITCHING}+ not found on PATH: ${install}`);
  const found = /go(\d+(?:\.\d+)*)/.exec(banner)?.[1];
  if (!found || compareVersions(found, GO_SWITCHING) < 0) {
    throw new Error(`go ${GO_SWITCHING}+ required but PATH has ${banner.trim()}: ${install}`);
  }
}

/** Compares dotted versions numerically, a missing part counting as 0 (1.24 = 1.24.0). */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}
