import { rmSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { orphanGuard } from './guard';
import { KafkaCluster, LaunchedKafka } from './kafka-cluster';
import { replicationOf, waitForKafka } from './kafka-server';
import { MinioServer } from './minio-server';
import { freePorts } from './ports';
import { prepareLocalInfra } from './prepare';
import { createRunDir, RunDir } from './run-dir';
import { defaultLog, keepRunDirs, Log } from './settings';

export type { KafkaCluster, KafkaNode, PartitionState } from './kafka-cluster';
export { cachedArtifact, mavenJars, prepareKafka, prepareLocalInfra } from './prepare';
export type { CachedArtifact } from './prepare';
export { preparePythonPackages } from './python-packages';
export { kafkaTool } from './kafka-tool';
export { runTool } from './run-tool';
export { seededRandom } from '@weblog/kafka-common/testing';
export { requireJava, requireMaven } from './toolchain';
export type { KafkaArtifacts, MinioArtifacts, PreparedInfra, PrepareSelection } from './prepare';
export { cacheRoot, kafkaVersion } from './settings';
export { prepareDeployTools } from './deploy-tools';
export type { DeployTools } from './deploy-tools';
export { DEBIAN_PACKAGES, debianToolVersions, prepareDebianTools } from './debian-tools';
export type { DebianTools } from './debian-tools';
export {
  checkConfigRejected,
  checkStartsAndStops,
  cpuSeconds,
  freePort,
  peakRssBytes,
  runCommand,
  runServiceToExit,
  serviceEnvironment,
  serviceMain,
  ServiceProcess,
  SupervisedProcess,
} from './supervisor';
export type { ExitStatus, ProcessSpec, ReadinessProbe, Usage } from './supervisor';

export interface LocalInfraOptions {
  /**
   * Kafka nodes to launch (default 1), each a broker and a voter of the KRaft quorum. Three or
   * more give topics and internal topics 3 replicas and a minimum of 2 in sync.
   */
  kafkaNodes?: number;
  /** Buckets to create (existing ones are kept). */
  buckets?: string[];
  /** Progress and diagnostics; defaults to stderr. */
  log?: (line: string) => void;
  /** Use this directory instead of a fresh one under the cache; it is then not deleted on stop. */
  runDir?: string;
  /**
   * Stop the servers on SIGINT/SIGTERM (default true). A caller that orders its own shutdown
   * (services drained before Kafka goes) passes false and calls stop() itself; the watchdog still
   * cleans up if the process dies.
   */
  handleSignals?: boolean;
}

export interface S3Settings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

export interface LocalInfra {
  kafkaBrokers: string[];
  s3: S3Settings;
  /** False for a server that was given through the environment instead of launched here. */
  launched: { kafka: boolean; s3: boolean };
  /** Where the launched servers keep their data and logs, when anything was launched. */
  runDir: string | undefined;
  /** Variables that point a service at these servers. */
  env(): Record<string, string>;
  /** The launched Kafka nodes, to fault one of them; undefined when KAFKA_BROKERS named the brokers. */
  readonly cluster: KafkaCluster | undefined;
  /** Pids of the launched servers while they run (of Kafka, the first node's), for fault-injection tests. */
  pids(): { kafka: number | undefined; s3: number | undefined };
  /** Stops every Kafka node. */
  stopKafka(): Promise<void>;
  /**
   * SIGKILL of the broker: no controlled shutdown, as in a crash. On a cluster, of the node that
   * leads the most partitions, so the fault moves leadership.
   */
  killKafka(): Promise<void>;
  /** Starts the Kafka nodes that are down: same ports and data directories as before. */
  startKafka(): Promise<void>;
  stopS3(): Promise<void>;
  /** Same port, data and credentials as before the stop. */
  startS3(): Promise<void>;
  /** Stops everything launched here; safe to call more than once. */
  stop(): Promise<void>;
}

const active = new Set<LocalInfraImpl>();
const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * On SIGINT/SIGTERM the servers get an orderly shutdown, after which the signal is raised again
 * so the process ends as it would have without us, unless the application handles it itself.
 */
function onSignal(signal: NodeJS.Signals): void {
  void Promise.allSettled([...active].map((infra) => infra.stop())).then(() => {
    uninstallSignalHandlers();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function installSignalHandlers(): void {
  for (const signal of signals) {
    if (!process.listeners(signal).includes(onSignal)) process.on(signal, onSignal);
  }
}

function uninstallSignalHandlers(): void {
  for (const signal of signals) process.removeListener(signal, onSignal);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class LocalInfraImpl implements LocalInfra {
  readonly launched: { kafka: boolean; s3: boolean };
  private stopping: Promise<void> | undefined;

  constructor(
    readonly kafkaBrokers: string[],
    readonly s3: S3Settings,
    private readonly kafka: LaunchedKafka | undefined,
    private readonly minio: MinioServer | undefined,
    private readonly dir: RunDir | undefined,
    private readonly log: Log,
  ) {
    this.launched = { kafka: kafka !== undefined, s3: minio !== undefined };
  }

  get runDir(): string | undefined {
    return this.dir?.path;
  }

  get cluster(): KafkaCluster | undefined {
    return this.kafka;
  }

  env(): Record<string, string> {
    const nodes = this.kafka?.nodes.length ?? 1;
    const { replicas, minInsync } = replicationOf(nodes);
    return {
      KAFKA_BROKERS: this.kafkaBrokers.join(','),
      // A service creates its topics with as many replicas as the launched cluster can hold.
      ...(nodes > 1 ? { KAFKA_TOPIC_REPLICATION_FACTOR: String(replicas), KAFKA_TOPIC_MIN_INSYNC_REPLICAS: String(minInsync) } : {}),
      S3_ENDPOINT: this.s3.endpoint,
      S3_REGION: this.s3.region,
      S3_FORCE_PATH_STYLE: String(this.s3.forcePathStyle),
      AWS_ACCESS_KEY_ID: this.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.s3.secretAccessKey,
      AWS_REGION: this.s3.region,
    };
  }

  pids(): { kafka: number | undefined; s3: number | undefined } {
    return { kafka: this.kafka?.nodes[0]?.pid, s3: this.minio?.pid };
  }

  private launchedKafka(): LaunchedKafka {
    if (!this.kafka) throw new Error('Kafka was not launched here (KAFKA_BROKERS is set), so it cannot be stopped or started');
    if (this.stopping) throw new Error('local infrastructure already stopped');
    return this.kafka;
  }

  private launchedMinio(): MinioServer {
    if (!this.minio) throw new Error('S3 was not launched here (S3_ENDPOINT is set), so it cannot be stopped or started');
    if (this.stopping) throw new Error('local infrastructure already stopped');
    return this.minio;
  }

  async stopKafka(): Promise<void> {
    await this.launchedKafka().stop();
  }

  async killKafka(): Promise<void> {
    const kafka = this.launchedKafka();
    const node = kafka.nodes.length === 1 ? kafka.nodes[0] : await kafka.busiestLeader();
    await node?.kill('SIGKILL');
  }

  async startKafka(): Promise<void> {
    await this.launchedKafka().startStopped();
  }

  async stopS3(): Promise<void> {
    await this.launchedMinio().stop();
  }

  async startS3(): Promise<void> {
    await this.launchedMinio().start();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const results = await Promise.allSettled([this.kafka?.stop(), this.minio?.stop()]);
    active.delete(this);
    if (active.size === 0) uninstallSignalHandlers();
    if (this.dir) {
      if (this.dir.owned && !keepRunDirs()) rmSync(this.dir.path, { recursive: true, force: true });
      else if (this.dir.owned) this.log(`run directory kept: ${this.dir.path}`);
      orphanGuard.forgetDir(this.dir.path);
    }
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0) throw new Error(`stopping local infrastructure failed: ${failures.map((f) => describe(f.reason)).join('; ')}`);
  }
}

async function createBuckets(s3: S3Settings, buckets: string[], log: Log): Promise<void> {
  if (buckets.length === 0) return;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    for (const bucket of buckets) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        log(`bucket ${bucket} created`);
      } catch (error) {
        // An external endpoint may already have it; that is the state we want.
        if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
      }
    }
  } finally {
    client.destroy();
  }
}

function externalS3(endpoint: string): S3Settings {
  const accessKeyId = process.env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = process.env['AWS_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      'S3_ENDPOINT is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not: set both, or unset S3_ENDPOINT to launch a local server',
    );
  }
  return {
    endpoint,
    region: process.env['S3_REGION'] ?? process.env['AWS_REGION'] ?? 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: process.env['S3_FORCE_PATH_STYLE'] !== 'false',
  };
}

/**
 * Starts a real Kafka (one broker, or a KRaft cluster of `kafkaNodes`) and a real S3 server on loopback ports (or adopts the ones named by
 * KAFKA_BROKERS / S3_ENDPOINT), resolving and building them first if the cache is cold.
 */
export async function startLocalInfra(opts: LocalInfraOptions = {}): Promise<LocalInfra> {
  const log = opts.log ?? defaultLog;
  const buckets = opts.buckets ?? [];
  const kafkaNodes = opts.kafkaNodes ?? 1;
  if (!Number.isInteger(kafkaNodes) || kafkaNodes < 1 || kafkaNodes > 9)
    throw new Error(`kafkaNodes must be a whole number from 1 to 9, got ${kafkaNodes}`);
  const started = Date.now();
  const brokersFromEnv = (process.env['KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  const endpointFromEnv = process.env['S3_ENDPOINT'] || undefined;
  const launchKafka = brokersFromEnv.length === 0;
  const launchS3 = endpointFromEnv === undefined;
  const s3FromEnv = endpointFromEnv ? externalS3(endpointFromEnv) : undefined;

  const prepared = launchKafka || launchS3 ? await prepareLocalInfra(log, { kafka: launchKafka, s3: launchS3 }) : {};
  const dir = launchKafka || launchS3 ? await createRunDir(opts.runDir, log) : undefined;
  if (dir) orphanGuard.removeOnCrash(dir.path);

  let kafka: LaunchedKafka | undefined;
  let minio: MinioServer | undefined;
  const abandon = async (error: unknown): Promise<never> => {
    await Promise.allSettled([kafka?.stop(), minio?.stop()]);
    if (dir) {
      if (dir.owned && !keepRunDirs()) {
        rmSync(dir.path, { recursive: true, force: true });
        // The quoted logs lived in that directory; say how to look at the rest of them.
        if (error instanceof Error) error.message += '\n(run directory deleted; set WEBLOG_KEEP_RUN_DIR=1 to keep it)';
      }
      orphanGuard.forgetDir(dir.path);
    }
    throw error;
  };

  try {
    // Taken in one batch so the kernel cannot hand the same port to two servers.
    const ports = await freePorts(2 + kafkaNodes * 2);
    const [s3Port, consolePort] = ports as [number, number];
    if (prepared.minio && dir) minio = MinioServer.create(prepared.minio, dir.path, [s3Port, consolePort], log);
    const kafkaReady = async (): Promise<void> => {
      if (prepared.kafka && dir) {
        kafka = await LaunchedKafka.create(prepared.kafka, dir.path, ports.slice(2), kafkaNodes, log);
        await kafka.start();
        return;
      }
      await waitForKafka(brokersFromEnv, 30000, () => undefined).catch((error: unknown) => {
        throw new Error(`KAFKA_BROKERS=${brokersFromEnv.join(',')} is set but ${describe(error)}`);
      });
    };
    // Both servers boot concurrently: the JVM start dominates, MinIO is ready long before it.
    const results = await Promise.allSettled([kafkaReady(), minio?.start()]);
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0) throw new Error(failures.map((failure) => describe(failure.reason)).join('\n'));

    const s3: S3Settings = minio
      ? {
          endpoint: minio.endpoint,
          region: 'us-east-1',
          accessKeyId: minio.credentials.accessKeyId,
          secretAccessKey: minio.credentials.secretAccessKey,
          forcePathStyle: true,
        }
      : (s3FromEnv as S3Settings);
    await createBuckets(s3, buckets, log);

    const infra = new LocalInfraImpl(kafka ? kafka.brokers : brokersFromEnv, s3, kafka, minio, dir, log);
    active.add(infra);
    if (opts.handleSignals ?? true) installSignalHandlers();
    log(`local infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)} s${dir ? ` (run directory ${dir.path})` : ''}`);
    return infra;
  } catch (error) {
    return abandon(error);
  }
}
