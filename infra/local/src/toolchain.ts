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

/** MinIO's go.mod asks for Go 1.24; older toolchains would try to download a newer one. */
export function requireGo(): void {
  // Debian's golang-go is too old, hence the upstream download.
  const install = 'install Go 1.24+ from https://go.dev/dl/';
  const banner = versionBanner('go', ['version']);
  if (!banner) throw new Error(`go 1.24+ not found on PATH: ${install}`);
  const match = /go(\d+)\.(\d+)/.exec(banner);
  const major = Number(match?.[1]);
  const minor = Number(match?.[2]);
  if (!match || major < 1 || (major === 1 && minor < 24)) {
    throw new Error(`go 1.24+ required but PATH has ${banner.trim()}: ${install}`);
  }
}
