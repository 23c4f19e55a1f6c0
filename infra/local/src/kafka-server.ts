import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { orphanGuard } from './guard';
import { KafkaArtifacts } from './prepare';
import { delay, describeTails, ServerProcess } from './processes';
import { PID_SUFFIX } from './run-dir';
import { runTool } from './run-tool';
import { envTimeout, Log } from './settings';

const STOP_GRACE_MS = 30000;

/**
 * Polls the brokers with a real admin request until one answers. kafkajs's own retries are off so
 * each attempt is short and the loop, not the client, owns the deadline.
 */
export async function waitForKafka(brokers: string[], timeoutMs: number, gaveUp: () => string | undefined): Promise<void> {
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
      if (cluster.brokers.length > 0) return;
      lastError = 'the cluster reported no brokers';
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

/** A single combined broker+controller node in KRaft mode, restartable on the same ports and data. */
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

export class KafkaServer {
  private readonly server: ServerProcess;
  private readonly outputFile: string;
  private readonly logsDir: string;

  private constructor(
    home: string,
    readonly brokerPort: number,
    readonly controllerPort: number,
    artifacts: KafkaArtifacts,
    private readonly log: Log,
  ) {
    this.outputFile = path.join(home, 'stdout.log');
    this.logsDir = path.join(home, 'logs');
    const heap = (process.env['KAFKA_HEAP_OPTS'] ?? '-Xms256m -Xmx1g').split(/\s+/).filter(Boolean);
    const properties = path.join(home, 'server.properties');
    this.server = new ServerProcess(
      {
        name: 'kafka',
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
        pidFile: path.join(path.dirname(home), `kafka${PID_SUFFIX}`),
        match: properties,
      },
      orphanGuard,
    );
  }

  /** Writes the configuration and formats a fresh log directory; does not start the broker. */
  static async create(artifacts: KafkaArtifacts, runDir: string, ports: [number, number], log: Log): Promise<KafkaServer> {
    const home = path.join(runDir, 'kafka');
    rmSync(home, { recursive: true, force: true });
    const dataDir = path.join(home, 'data');
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(path.join(home, 'logs'), { recursive: true });
    const [brokerPort, controllerPort] = ports;
    const properties = path.join(home, 'server.properties');
    const lines = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${propertyValue(dataDir)}`,
      // Callers create their topics explicitly; a typo must fail rather than silently create one.
      'auto.create.topics.enable=false',
      'num.partitions=3',
      'default.replication.factor=1',
      // Internal topics default to replication factor 3, which one node cannot satisfy.
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      // Fewer internal partitions make the first group join and first transaction quicker on a dev box.
      'offsets.topic.num.partitions=3',
      'transaction.state.log.num.partitions=3',
      // Tests join groups constantly; the production 3 s wait for more members would only slow them.
      'group.initial.rebalance.delay.ms=0',
      '',
    ];
    writeFileSync(properties, lines.join('\n'));
    const clusterId = newClusterId();
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
    return new KafkaServer(home, brokerPort, controllerPort, artifacts, log);
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.brokerPort}`];
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  async start(): Promise<void> {
    if (this.server.running) return;
    const started = Date.now();
    this.server.start();
    const timeoutMs = envTimeout('WEBLOG_KAFKA_START_TIMEOUT_MS', 120000);
    let exitedEarly: string | undefined;
    void this.server.exited.then((status) => {
      exitedEarly = `exited with ${status.signal ?? `code ${status.code}`}`;
    });
    try {
      await waitForKafka(this.brokers, timeoutMs, () => exitedEarly && `the broker ${exitedEarly} before becoming ready`);
    } catch (error) {
      await this.server.stop(5000);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Kafka failed to start: ${reason}${describeTails([this.outputFile, path.join(this.logsDir, 'server.log')])}`);
    }
    this.log(`Kafka ready on ${this.brokers.join(',')} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${this.server.pid})`);
  }

  async stop(): Promise<void> {
    if (!this.server.running) return;
    await this.server.stop(STOP_GRACE_MS);
    this.log('Kafka stopped');
  }

  /** SIGKILL: the broker dies without a controlled shutdown, as in a crash. */
  async kill(): Promise<void> {
    if (!this.server.running) return;
    await this.server.kill();
    this.log('Kafka killed');
  }
}
