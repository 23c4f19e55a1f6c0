// The peers the benchmarks run beside our services: Kafka's own perf tools (the broker's jars), a
// Kafka Streams application, a kafka-python loop, and for shipping files kcat and Kafka Connect's
// FileStreamSource, each prepared once into the shared cache and started as a process of its own
// whose memory and CPU time can be read like our services'.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  cachedArtifact,
  cacheRoot,
  DebianTools,
  KafkaArtifacts,
  mavenJars,
  prepareDebianTools,
  prepareKafka,
  preparePythonPackages,
  requireJava,
  requireMaven,
  runTool,
  ServiceProcess,
  SupervisedProcess,
} from '@weblog/local-infra';

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
  const pythonPath = await preparePythonPackages('bench-kafka-python', path.join(peersDir, 'python', 'requirements.txt'), log);
  return { kafka, streamsClassPath: `${path.join(streams, 'classes')}:${path.join(streams, 'libs')}/*`, pythonPath };
}

/** What the benchmarks need of a process under test, ours or a peer's. */
export type Measured = Pick<SupervisedProcess, 'pid' | 'running' | 'logs' | 'stop' | 'usage'>;

/**
 * Several processes measured as one contender: CPU time summed, peak RSS summed (each process's
 * own peak, so at most what they held at once), running while every one of them runs.
 */
export function together(members: readonly Measured[]): Measured {
  return {
    get pid() {
      return members[0]?.pid;
    },
    get running() {
      return members.every((m) => m.running);
    },
    get logs() {
      return members.map((m, i) => `--- process ${i + 1}\n${m.logs}`).join('\n');
    },
    stop: async (graceMs?: number) => {
      const codes = await Promise.all(members.map((m) => m.stop(graceMs)));
      return codes.find((code) => code !== 0) ?? codes[0] ?? null;
    },
    usage: () =>
      members
        .map((m) => m.usage())
        .reduce((sum, u) => ({ peakRssBytes: sum.peakRssBytes + u.peakRssBytes, cpuSeconds: sum.cpuSeconds + u.cpuSeconds }), {
          peakRssBytes: 0,
          cpuSeconds: 0,
        }),
  };
}

/** A Kafka command-line tool (ProducerPerformance, ConsumerPerformance) run to completion. */
export type Guarantee = 'at-least-once' | 'exactly-once';

/** The Kafka Streams peer, with Kafka Streams' defaults but for the guarantee. */
export function startStreams(
  peers: PeerArtifacts,
  options: {
    brokers: string;
    input: string;
    output: string;
    applicationId: string;
    guarantee: Guarantee;
    /** The producer's linger.ms; Kafka Streams' default (100 ms in 4.x) when omitted. */
    lingerMs?: number;
    /** num.stream.threads; its default (1) when omitted. */
    threads?: number;
  },
): SupervisedProcess {
  return SupervisedProcess.spawn(
    'Kafka Streams',
    'java',
    ['-cp', peers.streamsClassPath, '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', 'UpperCaseStreams'],
    {
      BOOTSTRAP_SERVERS: options.brokers,
      INPUT_TOPIC: options.input,
      OUTPUT_TOPIC: options.output,
      APPLICATION_ID: options.applicationId,
      GUARANTEE: options.guarantee === 'exactly-once' ? 'exactly_once_v2' : 'at_least_once',
      ...(options.lingerMs === undefined ? {} : { LINGER_MS: String(options.lingerMs) }),
      ...(options.threads === undefined ? {} : { STREAM_THREADS: String(options.threads) }),
    },
  );
}

/** The kafka-python consume, upper-case, produce loop. */
export function startPython(
  peers: PeerArtifacts,
  options: { brokers: string; input: string; output: string; groupId: string },
): SupervisedProcess {
  return SupervisedProcess.spawn('kafka-python loop', 'python3', [path.join(peersDir, 'python', 'transform.py')], {
    PYTHONPATH: peers.pythonPath,
    PYTHONUNBUFFERED: '1',
    BOOTSTRAP_SERVERS: options.brokers,
    INPUT_TOPIC: options.input,
    OUTPUT_TOPIC: options.output,
    GROUP_ID: options.groupId,
  });
}

/** The bare kafkajs loop: the same library and producer as our transformer, none of its work. */
export function startKafkajsLoop(options: { brokers: string; input: string; output: string; groupId: string }): SupervisedProcess {
  return SupervisedProcess.spawn('kafkajs loop', process.execPath, [path.join(__dirname, 'kafkajs-loop.js')], {
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

export interface ShipperPeerArtifacts {
  /** kcat and its libraries, from Debian's packages. */
  readonly debian: DebianTools;
  /** Class path of Kafka Connect's runtime and its file connectors. */
  readonly connectClassPath: string;
}

/** kcat and Kafka Connect (connect-runtime and connect-file at the broker's version), once into the cache. */
export async function prepareShipperPeers(kafka: KafkaArtifacts): Promise<ShipperPeerArtifacts> {
  const pom = path.join(peersDir, 'kafka-connect', 'pom.xml');
  const libs = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `bench-kafka-connect-${kafka.version}`),
      source: digest(readFileSync(pom, 'utf8'), kafka.version),
      output: 'libs',
      what: `Kafka Connect ${kafka.version}`,
      announce: `resolving Kafka Connect ${kafka.version} (connect-runtime, connect-file) from Maven Central (first run only)`,
      requirements: () => {
        requireJava();
        requireMaven();
      },
      build: mavenJars(pom, { 'kafka.version': kafka.version }),
    },
    log,
  );
  return { debian: await prepareDebianTools(log), connectClassPath: `${libs}/*` };
}

/** `kcat -P -l FILE`: every line of the file a record, librdkafka's defaults (acks=all, no key). */
export function startKcatProducer(
  peers: ShipperPeerArtifacts,
  options: { brokers: string; topic: string; file: string },
): SupervisedProcess {
  return SupervisedProcess.spawn('kcat', peers.debian.kcat, ['-P', '-b', options.brokers, '-t', options.topic, '-l', options.file], {
    ...peers.debian.env,
  });
}

/** Records of a topic as a read-committed consumer sees them: what transactions committed, markers and aborts left out. */
export async function committedRecordCount(peers: ShipperPeerArtifacts, brokers: string, topic: string): Promise<number> {
  // One byte per record, counted as it streams: a million records' output is never held.
  const args = ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '\\n'];
  const reader = spawn(peers.debian.kcat, args, {
    env: { PATH: process.env['PATH'] ?? '', ...peers.debian.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let records = 0;
  let errors = '';
  reader.stdout.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) records++;
  });
  reader.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString('utf8')).slice(-2000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    reader.once('error', reject);
    reader.once('close', resolve);
  });
  if (code !== 0) throw new Error(`kcat -C on ${topic} exited with ${String(code)}:\n${errors}`);
  return records;
}

/**
 * Kafka Connect standalone with one FileStreamSource task reading `file` into `topic`, with
 * Connect's defaults but for the plain string converter (a line is the record, as kcat and our
 * shipper send it) and its REST listener on a free loopback port.
 */
export function startConnect(
  peers: ShipperPeerArtifacts,
  options: { brokers: string; topic: string; file: string; restPort: number },
): SupervisedProcess {
  const dir = mkdtempSync(path.join(tmpdir(), 'weblog-connect-'));
  const properties = (entries: Record<string, string>) =>
    `${Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  const worker = path.join(dir, 'worker.properties');
  const connector = path.join(dir, 'file-source.properties');
  writeFileSync(
    worker,
    properties({
      'bootstrap.servers': options.brokers,
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'offset.storage.file.filename': path.join(dir, 'connect.offsets'),
      listeners: `http://127.0.0.1:${options.restPort}`,
    }),
  );
  writeFileSync(
    connector,
    properties({
      name: 'bench-file-source',
      'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector',
      'tasks.max': '1',
      file: options.file,
      topic: options.topic,
    }),
  );
  return SupervisedProcess.spawn(
    'Kafka Connect',
    'java',
    [
      '-cp',
      peers.connectClassPath,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      'org.apache.kafka.connect.cli.ConnectStandalone',
      worker,
      connector,
    ],
    {},
  );
}
