// The peers the benchmarks run beside our services: Kafka's own perf tools (the broker's jars), a
// Kafka Streams application and a kafka-python loop, each prepared once into the shared cache and
// started as a process of its own whose memory and CPU time can be read like our services'.
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cachedArtifact, cacheRoot, KafkaArtifacts, mavenJars, prepareKafka, requireJava, requireMaven, runTool } from '@weblog/local-infra';
import { eventually, ServiceProcess } from '@weblog/kafka-common/testing';

const peersDir = path.resolve(__dirname, '../peers');
const log = (line: string) => process.stdout.write(`  ${line}\n`);
const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('hex');

export interface PeerArtifacts {
  readonly kafka: KafkaArtifacts;
  /** Class path of the Kafka Streams peer. */
  readonly streamsClassPath: string;
  /** Directory with kafka-python, for PYTHONPATH. */
  readonly pythonPath: string;
}

/** Builds the Kafka Streams peer and installs kafka-python, once per source, into the cache. */
export async function preparePeers(): Promise<PeerArtifacts> {
  const kafka = await prepareKafka(log);
  const streamsSource = path.join(peersDir, 'kafka-streams');
  const pom = path.join(streamsSource, 'pom.xml');
  const java = path.join(streamsSource, 'UpperCaseStreams.java');
  const streams = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `bench-kafka-streams-${kafka.version}`),
      source: digest(readFileSync(pom, 'utf8'), readFileSync(java, 'utf8'), kafka.version),
      output: 'build',
      what: `the Kafka Streams ${kafka.version} peer`,
      announce: `resolving Kafka Streams ${kafka.version} from Maven Central and compiling the peer (first run only)`,
      requirements: () => {
        requireJava();
        requireMaven();
      },
      build: async (partial, home) => {
        const libs = path.join(partial, 'libs');
        await mavenJars(pom, { 'kafka.version': kafka.version })(libs, home);
        await runTool('javac', ['-d', path.join(partial, 'classes'), '-cp', `${libs}/*`, java], {
          env: process.env,
          cwd: home,
          logFile: path.join(home, 'javac.log'),
          match: java,
        });
      },
    },
    log,
  );
  const requirements = path.join(peersDir, 'python', 'requirements.txt');
  const pythonPath = await cachedArtifact(
    {
      home: path.join(cacheRoot(), 'bench-kafka-python'),
      source: digest(readFileSync(requirements, 'utf8')),
      output: 'site',
      what: 'kafka-python',
      announce: 'installing kafka-python from PyPI (first run only)',
      build: (partial, home) =>
        runTool('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', partial, '-r', requirements], {
          env: process.env,
          cwd: home,
          logFile: path.join(home, 'pip.log'),
          match: partial,
        }),
    },
    log,
  );
  return { kafka, streamsClassPath: `${path.join(streams, 'classes')}:${path.join(streams, 'libs')}/*`, pythonPath };
}

/** What the benchmarks need of a process under test, ours or a peer's. */
export interface Measured {
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly logs: string;
  stop(): Promise<unknown>;
}

/** A peer started as a process of its own: stdout and stderr kept (the tail), SIGTERM to stop. */
export class PeerProcess implements Measured {
  private output = '';
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-200_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
  }

  static start(command: string, args: readonly string[], env: Record<string, string>): PeerProcess {
    return new PeerProcess(spawn(command, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  get logs(): string {
    return this.output;
  }

  /** Resolves with the exit code; fails, quoting the output, if it takes longer than `timeoutMs`. */
  async finished(timeoutMs: number): Promise<number | null> {
    await eventually(() => (this.running ? undefined : true), timeoutMs, 100).catch(() => {
      this.child.kill('SIGKILL');
      throw new Error(`did not finish within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
    });
    return this.exited;
  }

  async stop(): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    return this.finished(30000);
  }
}

/** A Kafka command-line tool (ProducerPerformance, ConsumerPerformance) run to completion. */
export async function kafkaTool(kafka: KafkaArtifacts, main: string, args: readonly string[], timeoutMs = 600000): Promise<{ output: string; process: PeerProcess }> {
  const logs = mkdtempSync(path.join(tmpdir(), 'weblog-kafka-tool-'));
  const tool = PeerProcess.start(
    'java',
    ['-cp', `${kafka.libs}/*`, `-Dlog4j2.configurationFile=${kafka.log4jConfig}`, `-Dkafka.logs.dir=${logs}`, main, ...args],
    {},
  );
  const code = await tool.finished(timeoutMs);
  if (code !== 0) throw new Error(`${main} exited with ${String(code)}:\n${tool.logs.slice(-3000)}`);
  return { output: tool.logs, process: tool };
}

export type Guarantee = 'at-least-once' | 'exactly-once';

/** The Kafka Streams peer, with Kafka Streams' defaults but for the guarantee. */
export function startStreams(
  peers: PeerArtifacts,
  options: { brokers: string; input: string; output: string; applicationId: string; guarantee: Guarantee },
): PeerProcess {
  return PeerProcess.start(
    'java',
    ['-cp', peers.streamsClassPath, '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', 'UpperCaseStreams'],
    {
      BOOTSTRAP_SERVERS: options.brokers,
      INPUT_TOPIC: options.input,
      OUTPUT_TOPIC: options.output,
      APPLICATION_ID: options.applicationId,
      GUARANTEE: options.guarantee === 'exactly-once' ? 'exactly_once_v2' : 'at_least_once',
    },
  );
}

/** The kafka-python consume, upper-case, produce loop. */
export function startPython(peers: PeerArtifacts, options: { brokers: string; input: string; output: string; groupId: string }): PeerProcess {
  return PeerProcess.start('python3', [path.join(peersDir, 'python', 'transform.py')], {
    PYTHONPATH: peers.pythonPath,
    PYTHONUNBUFFERED: '1',
    BOOTSTRAP_SERVERS: options.brokers,
    INPUT_TOPIC: options.input,
    OUTPUT_TOPIC: options.output,
    GROUP_ID: options.groupId,
  });
}

/** The bare kafkajs loop: the same library and producer as our transformer, none of its work. */
export function startKafkajsLoop(options: { brokers: string; input: string; output: string; groupId: string }): PeerProcess {
  return PeerProcess.start(process.execPath, [path.join(__dirname, 'kafkajs-loop.js')], {
    BOOTSTRAP_SERVERS: options.brokers,
    INPUT_TOPIC: options.input,
    OUTPUT_TOPIC: options.output,
    GROUP_ID: options.groupId,
  });
}

/** Our transformer with its own group and topics; ready when its health says so. */
export async function startTransformer(options: {
  input: string;
  output: string;
  deadLetter: string;
  groupId: string;
  guarantee: Guarantee;
  extra?: Record<string, string>;
}): Promise<ServiceProcess> {
  return ServiceProcess.start('transformer', {
    KAFKA_TOPIC_INPUT: options.input,
    KAFKA_TOPIC_OUTPUT: options.output,
    KAFKA_TOPIC_DEAD_LETTER: options.deadLetter,
    TRANSFORMER_GROUP_ID: options.groupId,
    TRANSFORMER_TRANSACTIONAL_ID_PREFIX: options.groupId,
    TRANSFORMER_MODE: options.guarantee,
    ...options.extra,
  });
}
