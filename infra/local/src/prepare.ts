import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { delay, isAlive, modifiedMsAgo, readPidFile } from './processes';
import { runTool } from './run-tool';
import { cacheRoot, defaultLog, kafkaResourceDir, kafkaVersion, Log, MINIO_MODULE, MINIO_VERSION } from './settings';
import { requireGo, requireJava, requireMaven } from './toolchain';

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

/** Resolves the broker jars from Maven Central once per Kafka version (and per pom content). */
export async function prepareKafka(log: Log = defaultLog): Promise<KafkaArtifacts> {
  const resources = kafkaResourceDir();
  const pom = path.join(resources, 'pom.xml');
  const version = kafkaVersion();
  const home = path.join(cacheRoot(), `kafka-${version}`);
  const libs = path.join(home, 'libs');
  const marker = path.join(home, '.complete');
  // The pom's content is part of the key: changing the logging binding must refresh the jars.
  const source = sha256(`${readFileSync(pom, 'utf8')}\n${version}`);
  const artifacts: KafkaArtifacts = { version, libs, log4jConfig: path.join(resources, 'log4j2.properties') };
  const complete = (): boolean => existsSync(libs) && readMarker(marker)?.source === source;

  requireJava();
  if (complete()) return artifacts;
  requireMaven();
  mkdirSync(home, { recursive: true });
  return withLock(`${home}.lock`, `Kafka ${version}`, log, async () => {
    if (complete()) return artifacts;
    const started = Date.now();
    log(`resolving Kafka ${version} jars from Maven Central (first run only)`);
    const partial = path.join(home, `libs.partial-${process.pid}`);
    rmSync(partial, { recursive: true, force: true });
    try {
      await runTool(
        'mvn',
        [
          '-q',
          '-B',
          '-Dstyle.color=never',
          '-f',
          pom,
          'dependency:copy-dependencies',
          `-DoutputDirectory=${partial}`,
          `-Dkafka.version=${version}`,
        ],
        { env: process.env, cwd: home, logFile: path.join(home, 'maven.log'), match: partial },
      );
      rmSync(marker, { force: true });
      rmSync(libs, { recursive: true, force: true });
      renameSync(partial, libs);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
    writeFileSync(marker, `${JSON.stringify({ source, version, completedAt: new Date().toISOString() })}\n`);
    log(`Kafka ${version} jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return artifacts;
  });
}

/** Builds the MinIO server from the Go module proxy once per pinned version. */
export async function prepareMinio(log: Log = defaultLog): Promise<MinioArtifacts> {
  const home = path.join(cacheRoot(), `minio-${MINIO_VERSION}`);
  const binDir = path.join(home, 'bin');
  const binary = path.join(binDir, 'minio');
  const marker = path.join(home, '.complete');
  const source = `${MINIO_MODULE}@${MINIO_VERSION}`;
  const artifacts: MinioArtifacts = { version: MINIO_VERSION, binary };
  const complete = (): boolean => existsSync(binary) && readMarker(marker)?.source === source;

  if (complete()) return artifacts;
  requireGo();
  mkdirSync(home, { recursive: true });
  return withLock(`${home}.lock`, `MinIO ${MINIO_VERSION}`, log, async () => {
    if (complete()) return artifacts;
    const started = Date.now();
    log(`building MinIO ${MINIO_VERSION} with go install (first run only, takes minutes)`);
    const partial = path.join(home, `bin.partial-${process.pid}`);
    rmSync(partial, { recursive: true, force: true });
    try {
      await runTool('go', ['install', source], {
        env: {
          ...process.env,
          GOBIN: partial,
          CGO_ENABLED: '0',
          GOFLAGS: '-buildvcs=false',
          // Never fetch another Go toolchain behind the user's back; requireGo checked the version.
          GOTOOLCHAIN: 'local',
        },
        cwd: home,
        logFile: path.join(home, 'build.log'),
        match: source,
      });
      rmSync(marker, { force: true });
      rmSync(binDir, { recursive: true, force: true });
      renameSync(partial, binDir);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
    writeFileSync(marker, `${JSON.stringify({ source, completedAt: new Date().toISOString() })}\n`);
    log(`MinIO built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return artifacts;
  });
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
