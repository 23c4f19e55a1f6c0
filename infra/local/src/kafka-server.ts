import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { orphanGuard } from './guard';
import { KafkaArtifacts } from './prepare';
import { delay, describeTails, within } from './processes';
import { ServerProcess, signalTree } from './supervisor';
import { PID_SUFFIX } from './run-dir';
import { runTool } from './run-tool';
import { envTimeout, Log } from './settings';

const STOP_GRACE_MS = 30000;

/** What a metadata answer must show before the brokers count as ready; the reason when it does not. */
export type ClusterCheck = (brokers: readonly number[]) => string | undefined;

const anyBroker: ClusterCheck = (brokers) => (brokers.length > 0 ? undefined : 'the cluster reported no brokers');

/**
 * Polls the brokers with a real admin request until one answers (and its answer passes `check`).
 * kafkajs's own retries are off so each attempt is short and the loop, not the client, owns the
 * deadline.
 */
export async function waitForKafka(
  brokers: string[],
  timeoutMs: number,
  gaveUp: () => string | undefined,
  check: ClusterCheck = anyBroker,
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'local-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt made';
  for (;;) {
    const reason = gaveUp();
    if (reason) throw new Error(reason);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      const notYet = check(cluster.brokers.map((broker) => broker.nodeId));
      if (notYet === undefined) return;
      lastError = notYet;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`Kafka at ${brokers.join(',')} not ready within ${timeoutMs} ms (last error: ${lastError})`);
    await delay(250);
  }
}

/** Properties files treat backslashes as escapes. */
const propertyValue = (value: string): string => value.replace(/\\/g, '\\\\');

/**
 * A Kafka Uuid: 16 random bytes in unpadded base64url. One in 64 starts with '-', which the
 * storage tool's argument parser reads as an option ("--cluster-id: expected one argument"), so
 * such ids are drawn again, as Kafka's own Uuid.randomUuid does.
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Where one node of a KRaft quorum listens, and the quorum it belongs to. */
export interface KafkaNodeLayout {
  readonly nodeId: number;
  readonly brokerPort: number;
  readonly controllerPort: number;
  /** Every node of the quorum (each is a voter), this one included. */
  readonly quorum: readonly { readonly nodeId: number; readonly controllerPort: number }[];
}

/** Replicas per partition and the in-sync replicas a write needs, on a cluster of `nodes`. */
export function replicationOf(nodes: number): { replicas: number; minInsync: number } {
  const replicas = Math.min(nodes, 3);
  return { replicas, minInsync: Math.max(1, replicas - 1) };
}

/**
 * The configuration of one combined broker+controller node. With three nodes or more, topics and
 * the internal topics get three replicas and accept a write once two hold it, so one node may be
 * down without any write failing or any acknowledged record being lost.
 */
export function serverProperties(layout: KafkaNodeLayout, dataDir: string): string {
  const { replicas, minInsync } = replicationOf(layout.quorum.length);
  const lines = [
    'process.roles=broker,controller',
    `node.id=${layout.nodeId}`,
    `controller.quorum.voters=${layout.quorum.map((voter) => `${voter.nodeId}@127.0.0.1:${voter.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://127.0.0.1:${layout.brokerPort},CONTROLLER://127.0.0.1:${layout.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${layout.brokerPort}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${propertyValue(dataDir)}`,
    // Callers create their topics explicitly; a typo must fail rather than silently create one.
    'auto.create.topics.enable=false',
    'num.partitions=3',
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minInsync}`,
    // Internal topics default to replication factor 3, which one node cannot satisfy.
    `offsets.topic.replication.factor=${replicas}`,
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minInsync}`,
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${minInsync}`,
    // Fewer internal partitions make the first group join and first transaction quicker on a dev box.
    'offsets.topic.num.partitions=3',
    'transaction.state.log.num.partitions=3',
    // Tests join groups constantly; the production 3 s wait for more members would only slow them.
    'group.initial.rebalance.delay.ms=0',
    '',
  ];
  return lines.join('\n');
}

/** A combined broker+controller node in KRaft mode, restartable on the same ports and data. */
export class KafkaServer {
  private readonly server: ServerProcess;
  private readonly outputFile: string;
  private readonly logsDir: string;
  private stopped = false;
  /** How log lines name it: a single broker stays plain "Kafka". */
  private readonly label: string;

  private constructor(
    home: string,
    name: string,
    readonly layout: KafkaNodeLayout,
    artifacts: KafkaArtifacts,
    private readonly log: Log,
  ) {
    this.label = name === 'kafka' ? 'Kafka' : `Kafka node ${layout.nodeId}`;
    this.outputFile = path.join(home, 'stdout.log');
    this.logsDir = path.join(home, 'logs');
    const heap = (process.env['KAFKA_HEAP_OPTS'] ?? '-Xms256m -Xmx1g').split(/\s+/).filter(Boolean);
    const properties = path.join(home, 'server.properties');
    this.server = new ServerProcess(
      {
        name,
        command: 'java',
        args: [
          ...heap,
          '-XX:+UseG1GC',
          '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${artifacts.log4jConfig}`,
          `-Dkafka.logs.dir=${this.logsDir}`,
          '-cp',
          `${artifacts.libs}${path.sep}*`,
          'kafka.Kafka',
          properties,
        ],
        env: process.env,
        cwd: home,
        outputFile: this.outputFile,
        pidFile: path.join(path.dirname(home), `${name}${PID_SUFFIX}`),
        match: properties,
      },
      orphanGuard,
    );
  }

  /**
   * Writes the configuration and formats a fresh log directory under `runDir/name`; does not start
   * the node. Every node of one cluster is formatted with the same cluster id.
   */
  static async create(
    artifacts: KafkaArtifacts,
    runDir: string,
    name: string,
    layout: KafkaNodeLayout,
    clusterId: string,
    log: Log,
  ): Promise<KafkaServer> {
    const home = path.join(runDir, name);
    rmSync(home, { recursive: true, force: true });
    const dataDir = path.join(home, 'data');
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(path.join(home, 'logs'), { recursive: true });
    const properties = path.join(home, 'server.properties');
    writeFileSync(properties, serverProperties(layout, dataDir));
    await runTool(
      'java',
      [
        '-cp',
        `${artifacts.libs}${path.sep}*`,
        `-Dlog4j2.configurationFile=${artifacts.log4jConfig}`,
        `-Dkafka.logs.dir=${path.join(home, 'logs')}`,
        'kafka.tools.StorageTool',
        'format',
        '--cluster-id',
        clusterId,
        '--config',
        properties,
      ],
      { env: process.env, cwd: home, logFile: path.join(home, 'format.log'), match: properties },
    );
    return new KafkaServer(home, name, layout, artifacts, log);
  }

  get id(): number {
    return this.layout.nodeId;
  }

  get brokerPort(): number {
    return this.layout.brokerPort;
  }

  get address(): string {
    return `127.0.0.1:${this.layout.brokerPort}`;
  }

  get brokers(): string[] {
    return [this.address];
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  /** True between pause() and resume(): the process exists but answers nothing. */
  get paused(): boolean {
    return this.running && this.stopped;
  }

  /**
   * Starts the node and waits until it answers a metadata request in which it is itself a
   * registered broker, together with `check` (the rest of the cluster, when it starts with it).
   */
  async start(
    check: ClusterCheck = (brokers) => (brokers.includes(this.id) ? undefined : `node ${this.id} not registered yet`),
  ): Promise<void> {
    if (this.server.running) return;
    const started = Date.now();
    this.stopped = false;
    this.server.start();
    const timeoutMs = envTimeout('WEBLOG_KAFKA_START_TIMEOUT_MS', 120000);
    let exitedEarly: string | undefined;
    void this.server.exited.then((status) => {
      exitedEarly = `exited with ${status.signal ?? `code ${status.code}`}`;
    });
    try {
      await waitForKafka(this.brokers, timeoutMs, () => exitedEarly && `the broker ${exitedEarly} before becoming ready`, check);
    } catch (error) {
      await this.server.stop(5000);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${this.label} failed to start: ${reason}${describeTails([this.outputFile, path.join(this.logsDir, 'server.log')])}`);
    }
    this.log(`${this.label} ready on ${this.address} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${this.server.pid})`);
  }

  async stop(): Promise<void> {
    if (!this.server.running) return;
    this.resume();
    await this.server.stop(STOP_GRACE_MS);
    this.log(`${this.label} stopped`);
  }

  /**
   * Sends `signal` and waits for the exit. SIGKILL is a crash (no controlled shutdown); SIGTERM is
   * the orderly stop, escalated to SIGKILL after the grace period.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.server.pid;
    if (pid === undefined) return;
    if (signal === 'SIGTERM') return this.stop();
    if (signal === 'SIGKILL') await this.server.kill();
    else {
      // A stopped process acts on no signal but SIGKILL until it is continued.
      this.resume();
      signalTree(pid, signal);
      if (!(await within(this.server.exited, STOP_GRACE_MS)).done) throw new Error(`${this.label} did not exit on ${signal}`);
    }
    this.stopped = false;
    this.log(`${this.label} ${signal === 'SIGKILL' ? 'killed' : `exited on ${signal}`}`);
  }

  /** SIGSTOP: the node hangs with its sockets open, as under a long GC pause or a frozen VM. */
  pause(): void {
    const pid = this.server.pid;
    if (pid === undefined || this.stopped) return;
    signalTree(pid, 'SIGSTOP');
    this.stopped = true;
    this.log(`${this.label} paused`);
  }

  resume(): void {
    const pid = this.server.pid;
    if (pid === undefined || !this.stopped) return;
    signalTree(pid, 'SIGCONT');
    this.stopped = false;
    this.log(`${this.label} resumed`);
  }
}
