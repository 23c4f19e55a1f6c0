import { Kafka, logLevel } from 'kafkajs';
import { findCoordinator } from './find-coordinator';
import { KafkaServer, newClusterId } from './kafka-server';
import { KafkaArtifacts } from './prepare';
import { delay } from './processes';
import { Log } from './settings';

/** One node of the launched cluster, for fault injection. */
export interface KafkaNode {
  readonly id: number;
  /** host:port of its broker listener. */
  readonly address: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Stopped by pause(): alive, listening, answering nothing. */
  readonly paused: boolean;
  /** Sends the signal and waits for the exit (SIGTERM: controlled shutdown, SIGKILL: a crash). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Same data directory and port as before; resolves once it is a registered broker again. */
  start(): Promise<void>;
  /** SIGSTOP. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Node id of the leader; -1 while there is none. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** The nodes of the launched Kafka and what the cluster says about them. */
export interface KafkaCluster {
  readonly nodes: readonly KafkaNode[];
  node(id: number): KafkaNode;
  /** Every partition of these topics (all topics, internal ones included, when omitted) as one live node's metadata has it now. */
  partitions(topics?: readonly string[]): Promise<PartitionState[]>;
  /** The node that leads this partition now. */
  leaderOf(topic: string, partition: number): Promise<KafkaNode>;
  /** The node that coordinates this consumer group now (a FindCoordinator request). */
  coordinatorOf(groupId: string): Promise<KafkaNode>;
  /**
   * Partitions with a replica out of the ISR in the view of any live node; empty only when every
   * live node's metadata has every replica in sync (each broker's metadata cache lags the
   * controller by its own margin, so one node's answer is not the cluster's).
   */
  underReplicated(topics?: readonly string[]): Promise<PartitionState[]>;
}

/**
 * The partitions that any of these views (one per node) has with a replica out of the ISR, each
 * once, as the first view that has it so; views need not agree on which partitions exist.
 */
export function underReplicatedIn(views: readonly (readonly PartitionState[])[]): PartitionState[] {
  const found = new Map<string, PartitionState>();
  for (const view of views) {
    for (const p of view) {
      const key = `${p.topic}-${p.partition}`;
      if (!found.has(key) && p.replicas.some((replica) => !p.isr.includes(replica))) found.set(key, p);
    }
  }
  return [...found.values()];
}

/** Probes are short and not retried by kafkajs: a paused node must cost one timeout, not a minute. */
function probeClient(brokers: string[]): Kafka {
  return new Kafka({
    clientId: 'local-infra-cluster',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
}

export class LaunchedKafka implements KafkaCluster {
  private constructor(readonly servers: readonly KafkaServer[]) {}

  /** Formats `count` nodes with one cluster id: each is broker and controller, all are voters. */
  static async create(
    artifacts: KafkaArtifacts,
    runDir: string,
    ports: readonly number[],
    count: number,
    log: Log,
  ): Promise<LaunchedKafka> {
    if (ports.length < count * 2) throw new Error(`${count} Kafka nodes need ${count * 2} ports, ${ports.length} given`);
    const quorum = Array.from({ length: count }, (_, i) => ({
      nodeId: i + 1,
      brokerPort: ports[i * 2],
      controllerPort: ports[i * 2 + 1],
    }));
    const clusterId = newClusterId();
    // One node keeps the run directory layout a single broker always had.
    const name = (nodeId: number) => (count === 1 ? 'kafka' : `kafka-${nodeId}`);
    const servers = await Promise.all(
      quorum.map((node) => KafkaServer.create(artifacts, runDir, name(node.nodeId), { ...node, quorum }, clusterId, log)),
    );
    return new LaunchedKafka(servers);
  }

  get nodes(): readonly KafkaNode[] {
    return this.servers;
  }

  get brokers(): string[] {
    return this.servers.map((server) => server.address);
  }

  node(id: number): KafkaNode {
    const found = this.servers.find((server) => server.id === id);
    if (!found) throw new Error(`no Kafka node ${id} (nodes: ${this.servers.map((s) => s.id).join(', ')})`);
    return found;
  }

  /**
   * Starts every node at once (a quorum elects no controller until a majority runs) and returns
   * when each of them reports all of them as registered brokers.
   */
  async start(): Promise<void> {
    const ids = this.servers.map((server) => server.id);
    const all = (brokers: readonly number[]) => {
      const missing = ids.filter((id) => !brokers.includes(id));
      return missing.length === 0 ? undefined : `brokers ${missing.join(', ')} not registered yet`;
    };
    const results = await Promise.allSettled(this.servers.map((server) => server.start(all)));
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0)
      throw new Error(failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n'));
  }

  /** Starts the nodes that are down, each waiting until it is registered again. */
  async startStopped(): Promise<void> {
    await Promise.all(this.servers.filter((server) => !server.running).map((server) => server.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  private live(): string[] {
    const live = this.servers.filter((server) => server.running && !server.paused).map((server) => server.address);
    if (live.length === 0) throw new Error('no Kafka node is running');
    return live;
  }

  async partitions(topics?: readonly string[]): Promise<PartitionState[]> {
    return this.partitionsFrom(this.live(), topics);
  }

  /** The metadata as one of these brokers (kafkajs picks which) has it. */
  private async partitionsFrom(brokers: string[], topics?: readonly string[]): Promise<PartitionState[]> {
    const admin = probeClient(brokers).admin();
    try {
      await admin.connect();
      const names = topics ? [...topics] : await admin.listTopics();
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      return metadata.topics.flatMap((topic) =>
        topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      );
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async leaderOf(topic: string, partition: number): Promise<KafkaNode> {
    const state = (await this.partitions([topic])).find((p) => p.partition === partition);
    if (!state) throw new Error(`topic ${topic} has no partition ${partition}`);
    if (state.leader < 0) throw new Error(`${topic}-${partition} has no leader now`);
    return this.node(state.leader);
  }

  async coordinatorOf(groupId: string, timeoutMs = 30000): Promise<KafkaNode> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no node asked';
    for (;;) {
      for (const address of this.live()) {
        try {
          const answer = await findCoordinator(address, groupId);
          if (answer.ok) return this.node(answer.nodeId);
          last = `${address}: ${answer.message}`;
          if (!answer.retriable) throw new Error(`FindCoordinator for group ${groupId} failed at ${last}`);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('FindCoordinator for group')) throw error;
          last = `${address}: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      if (Date.now() > deadline) throw new Error(`no coordinator for group ${groupId} within ${timeoutMs} ms (last answer ${last})`);
      await delay(250);
    }
  }

  async underReplicated(topics?: readonly string[]): Promise<PartitionState[]> {
    return underReplicatedIn(await Promise.all(this.live().map((address) => this.partitionsFrom([address], topics))));
  }

  /** The node that leads the most partitions of non-internal topics: the one whose crash hurts most. */
  async busiestLeader(): Promise<KafkaNode> {
    const counts = new Map<number, number>();
    for (const p of await this.partitions()) {
      if (p.topic.startsWith('__') || p.leader < 0) continue;
      counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
    }
    const [busiest] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    return busiest ? this.node(busiest[0]) : (this.servers.find((server) => server.running) ?? this.servers[0]);
  }
}
