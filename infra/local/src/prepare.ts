import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { delay, isAlive, modifiedMsAgo, readPidFile } from './processes';
import { runTool } from './run-tool';
import { cacheRoot, defaultLog, kafkaResourceDir, kafkaVersion, Log, MINIO_MODULE, MINIO_VERSION } from './settings';
import { GO_TOOLCHAIN, requireGo, requireJava, requireMaven } from './toolchain';

export interface KafkaArtifacts {
  readonly version: string;
  /** Directory of jars for `java -cp '<libs>/*'`: broker, storage tool and command-line tools. */
  readonly libs: string;
  readonly log4jConfig: string;
}

export interface MinioArtifacts {
  readonly version: string;
  readonly binary: string;
}

export interface PreparedInfra {
  readonly kafka?: KafkaArtifacts;
  readonly minio?: MinioArtifacts;
}

export interface PrepareSelection {
  readonly kafka?: boolean;
  readonly s3?: boolean;
}

interface Marker {
  readonly source: string;
}

function readMarker(file: string): Marker | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/**
 * Cross-process mutual exclusion around a cache entry, so two test runs started together do not
 * both spend minutes building the same thing. A lock left by a dead process is taken over.
 */
async function withLock<T>(lockDir: string, what: string, log: Log, work: () => Promise<T>): Promise<T> {
  const ownerFile = path.join(lockDir, 'owner.pid');
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(ownerFile, `${process.pid}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readPidFile(ownerFile);
      // A lock without an owner file is only legitimate for the instant between mkdir and write.
      const abandoned = owner === undefined ? modifiedMsAgo(lockDir) > 10000 : !isAlive(owner);
      if (abandoned) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for process ${owner ?? '?'} to finish preparing ${what}`);
        announced = true;
      }
      await delay(1000);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export interface CachedArtifact {
  /** Directory under the cache root that holds the artifact. */
  readonly home: string;
  /** What the artifact is made from: a different source rebuilds it. */
  readonly source: string;
  /** Subdirectory of home the build fills; it appears only once the build succeeded. */
  readonly output: string;
  readonly what: string;
  /** Printed before the build starts. */
  readonly announce: string;
  /** Checked before waiting on the lock, so a missing tool fails fast. */
  readonly requirements?: () => void;
  /** Fills the given (empty) directory; it becomes `home/output` on success. */
  readonly build: (partial: string, home: string) => Promise<void>;
}

/**
 * Builds something into the cache once per source: a marker records what it was built from, a
 * lock keeps concurrent runs from building it twice, and the result appears only when complete.
 */
export async function cachedArtifact(artifact: CachedArtifact, log: Log = defaultLog): Promise<string> {
  const { home, source, output } = artifact;
  const target = path.join(home, output);
  const marker = path.join(home, '.complete');
  const complete = (): boolean => existsSync(target) && readMarker(marker)?.source === source;
  if (complete()) return target;
  artifact.requirements?.();
  mkdirSync(home, { recursive: true });
  return withLock(`${home}.lock`, artifact.what, log, async () => {
    if (complete()) return target;
    const started = Date.now();
    log(artifact.announce);
    const partial = path.join(home, `${output}.partial-${process.pid}`);
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    try {
      await artifact.build(partial, home);
      rmSync(marker, { force: true });
      rmSync(target, { recursive: true, force: true });
      renameSync(partial, target);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
    writeFileSync(marker, `${JSON.stringify({ source, completedAt: new Date().toISOString() })}\n`);
    log(`${artifact.what} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return target;
  });
}

/** Resolves a pom's runtime dependencies from Maven Central into one flat directory of jars. */
export function mavenJars(pom: string, properties: Record<string, string>): CachedArtifact['build'] {
  return (partial, home) =>
    runTool(
      'mvn',
      [
        '-q',
        '-B',
        '-Dstyle.color=never',
        '-f',
        pom,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${partial}`,
        ...Object.entries(properties).map(([name, value]) => `-D${name}=${value}`),
      ],
      { env: process.env, cwd: home, logFile: path.join(home, 'maven.log'), match: partial },
    );
}

/** The environment of every Go build: static binaries, built by the pinned Go release. */
export const GO_BUILD_ENV = {
  CGO_ENABLED: '0',
  // Exactly this release, never "this or newer": a module's go line cannot pick another compiler.
  GOTOOLCHAIN: `go${GO_TOOLCHAIN}`,
};

/**
 * `go install` of packages (`module/cmd@version`, or `./dir` with `cwd` a module) into the given
 * directory, at low priority: the builds take minutes of every core the machine has.
 */
export function goInstall(
  packages: string | readonly string[],
  options: { flags?: readonly string[]; cwd?: string; goflags?: string } = {},
): CachedArtifact['build'] {
  const list = typeof packages === 'string' ? [packages] : [...packages];
  return (partial, home) =>
    runTool('nice', ['-n', '10', 'go', 'install', ...(options.flags ?? []), ...list], {
      env: { ...process.env, ...GO_BUILD_ENV, GOBIN: partial, GOFLAGS: options.goflags ?? '-buildvcs=false' },
      cwd: options.cwd ?? home,
      logFile: path.join(home, 'build.log'),
      match: list[0] ?? partial,
    });
}

/** Resolves the broker jars from Maven Central once per Kafka version (and per pom content). */
export async function prepareKafka(log: Log = defaultLog): Promise<KafkaArtifacts> {
  const resources = kafkaResourceDir();
  const pom = path.join(resources, 'pom.xml');
  const version = kafkaVersion();
  requireJava();
  const libs = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `kafka-${version}`),
      // The pom's content is part of the key: changing the logging binding must refresh the jars.
      source: sha256(`${readFileSync(pom, 'utf8')}\n${version}`),
      output: 'libs',
      what: `Kafka ${version} jars`,
      announce: `resolving Kafka ${version} jars from Maven Central (first run only)`,
      requirements: requireMaven,
      build: mavenJars(pom, { 'kafka.version': version }),
    },
    log,
  );
  return { version, libs, log4jConfig: path.join(resources, 'log4j2.properties') };
}

/** Builds the MinIO server from the Go module proxy once per pinned version. */
export async function prepareMinio(log: Log = defaultLog): Promise<MinioArtifacts> {
  const source = `${MINIO_MODULE}@${MINIO_VERSION}`;
  const bin = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `minio-${MINIO_VERSION}`),
      source,
      output: 'bin',
      what: `MinIO ${MINIO_VERSION}`,
      announce: `building MinIO ${MINIO_VERSION} with go install (first run only, takes minutes)`,
      requirements: requireGo,
      build: goInstall(source),
    },
    log,
  );
  return { version: MINIO_VERSION, binary: path.join(bin, 'minio') };
}

/**
 * Fetches and builds everything the local servers need without starting them, so CI can warm
 * the cache in a separate step. Both run at once: Maven is network-bound, the Go build CPU-bound.
 */
export async function prepareLocalInfra(log: Log = defaultLog, selection: PrepareSelection = {}): Promise<PreparedInfra> {
  const wantKafka = selection.kafka ?? true;
  const wantS3 = selection.s3 ?? true;
  const [kafka, minio] = await Promise.all([
    wantKafka ? prepareKafka(log) : Promise.resolve(undefined),
    wantS3 ? prepareMinio(log) : Promise.resolve(undefined),
  ]);
  return { ...(kafka ? { kafka } : {}), ...(minio ? { minio } : {}) };
}
