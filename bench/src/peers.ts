// The peers the benchmarks run beside our services: Kafka's own perf tools (the broker's jars), a
// Kafka Streams application and a kafka-python loop, each prepared once into the shared cache and
// started as a process of its own whose memory and CPU time can be read like our services'.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  cachedArtifact,
  cacheRoot,
  KafkaArtifacts,
  mavenJars,
  prepareKafka,
  requireJava,
  requireMaven,
  runTool,
} from '@weblog/local-infra';
import { ServiceProcess, WatchedProcess } from '@weblog/kafka-common/testing';

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
export type Measured = Pick<WatchedProcess, 'pid' | 'running' | 'logs' | 'stop'>;

/** A Kafka command-line tool (ProducerPerformance, ConsumerPerformance) run to completion. */
export async function kafkaTool(kafka: KafkaArtifacts, main: string, args: readonly string[], timeoutMs = 600000): Promise<string> {
  const logs = mkdtempSync(path.join(tmpdir(), 'weblog-kafka-tool-'));
  const tool = WatchedProcess.spawn(
    main,
    'java',
    ['-cp', `${kafka.libs}/*`, `-Dlog4j2.configurationFile=${kafka.log4jConfig}`, `-Dkafka.logs.dir=${logs}`, main, ...args],
    {},
  );
  const code = await tool.waitForExit(timeoutMs).catch(async (error: unknown) => {
    await tool.kill();
    throw error;
  });
  if (code !== 0) throw new Error(`${main} exited with ${String(code)}:\n${tool.logs.slice(-3000)}`);
  return tool.logs;
}

export type Guarantee = 'at-least-once' | 'exactly-once';

/** The Kafka Streams peer, with Kafka Streams' defaults but for the guarantee. */
export function startStreams(
  peers: PeerArtifacts,
  options: { brokers: string; input: string; output: string; applicationId: string; guarantee: Guarantee },
): WatchedProcess {
  return WatchedProcess.spawn(
    'Kafka Streams',
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
export function startPython(
  peers: PeerArtifacts,
  options: { brokers: string; input: string; output: string; groupId: string },
): WatchedProcess {
  return WatchedProcess.spawn('kafka-python loop', 'python3', [path.join(peersDir, 'python', 'transform.py')], {
    PYTHONPATH: peers.pythonPath,
    PYTHONUNBUFFERED: '1',
    BOOTSTRAP_SERVERS: options.brokers,
    INPUT_TOPIC: options.input,
    OUTPUT_TOPIC: options.output,
    GROUP_ID: options.groupId,
  });
}

/** The bare kafkajs loop: the same library and producer as our transformer, none of its work. */
export function startKafkajsLoop(options: { brokers: string; input: string; output: string; groupId: string }): WatchedProcess {
  return WatchedProcess.spawn('kafkajs loop', process.execPath, [path.join(__dirname, 'kafkajs-loop.js')], {
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
