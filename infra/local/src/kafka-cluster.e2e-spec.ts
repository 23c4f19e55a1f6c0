import { ConfigResourceTypes, Kafka, logLevel, Producer } from 'kafkajs';
import { createSafeProducer, createTransactionalProducer, ensureTopics, kafkaEnvShape, parseEnv, serviceEnv } from '@weblog/kafka-common';
import { consumeRecords, eventually, uniqueName } from '@weblog/kafka-common/testing';
import { LocalInfra, startLocalInfra } from './index';

/** Java's String.hashCode, by which Kafka maps a group to its partition of __consumer_offsets. */
function javaHash(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

const OFFSETS_PARTITIONS = 3;

describe('a three-node KRaft cluster (real brokers)', () => {
  let infra: LocalInfra;
  let kafka: Kafka;
  const saved = process.env['KAFKA_BROKERS'];

  beforeAll(async () => {
    // The global setup exported its single broker; this suite launches a cluster of its own and keeps the shared S3.
    delete process.env['KAFKA_BROKERS'];
    infra = await startLocalInfra({ kafkaNodes: 3, handleSignals: false, log: () => undefined });
    kafka = new Kafka({ clientId: 'cluster-spec', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  }, 300000);

  afterAll(async () => {
    await infra?.stop();
    if (saved !== undefined) process.env['KAFKA_BROKERS'] = saved;
  });

  const cluster = () => {
    if (!infra.cluster) throw new Error('no launched cluster');
    return infra.cluster;
  };

  it('starts three brokers, each reporting all three registered, and tells services to create topics at RF 3 / min ISR 2', async () => {
    expect(cluster().nodes.map((node) => [node.id, node.running])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(new Set(infra.kafkaBrokers).size).toBe(3);
    for (const node of cluster().nodes) {
      const admin = new Kafka({ clientId: 'cluster-spec', brokers: [node.address], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        expect((await admin.describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
      } finally {
        await admin.disconnect();
      }
    }
    expect(infra.env()).toMatchObject({ KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' });
  });

  it('creates a service topic through ensureTopics with 3 replicas and min.insync.replicas 2, from the environment it reports', async () => {
    const env = parseEnv(serviceEnv(kafkaEnvShape), infra.env());
    const topic = uniqueName('cluster-ensure');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        {
          name: topic,
          partitions: 3,
          replicationFactor: env.KAFKA_TOPIC_REPLICATION_FACTOR,
          minInsyncReplicas: env.KAFKA_TOPIC_MIN_INSYNC_REPLICAS,
        },
      ]);
      const configs = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
        includeSynonyms: false,
      });
      expect(configs.resources[0]?.configEntries.map((e) => [e.configName, e.configValue, e.isDefault])).toEqual([
        ['min.insync.replicas', '2', false],
      ]);
    } finally {
      await admin.disconnect();
    }
    expect((await cluster().partitions([topic])).map((p) => p.replicas.length)).toEqual([3, 3, 3]);
  });

  it('returns from ensureTopics to services racing to create the same topics through different nodes, each of which may not know the topic yet', async () => {
    const admins = cluster().nodes.map((node) =>
      new Kafka({ clientId: 'cluster-spec', brokers: [node.address], logLevel: logLevel.NOTHING }).admin(),
    );
    await Promise.all(admins.map((admin) => admin.connect()));
    try {
      for (let round = 0; round < 8; round++) {
        const name = uniqueName('cluster-race');
        const results = await Promise.allSettled(
          admins.map((admin) => ensureTopics(admin, [{ name, partitions: 12, replicationFactor: 3, minInsyncReplicas: 2 }])),
        );
        expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
      }
    } finally {
      await Promise.all(admins.map((admin) => admin.disconnect()));
    }
  });

  it('keeps the offsets and transaction state topics at 3 replicas with min ISR 2, and names the coordinator Kafka maps a group to', async () => {
    const topic = uniqueName('cluster-internal');
    const admin = kafka.admin();
    await admin.connect();
    const transactional = createTransactionalProducer(kafka, uniqueName('cluster-tx'));
    try {
      await ensureTopics(admin, [{ name: topic, partitions: 1, replicationFactor: 3 }]);
      await transactional.connect();
      const transaction = await transactional.transaction();
      await transaction.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] });
      await transaction.commit();
      await consumeRecords(kafka, topic, 1);
      const internal = await cluster().partitions(['__consumer_offsets', '__transaction_state']);
      expect(internal.length).toBe(6);
      expect(internal.every((p) => p.replicas.length === 3)).toBe(true);
      const [broker] = (
        await admin.describeConfigs({
          resources: [
            { type: ConfigResourceTypes.BROKER, name: '1', configNames: ['min.insync.replicas', 'transaction.state.log.min.isr'] },
          ],
          includeSynonyms: false,
        })
      ).resources;
      expect(Object.fromEntries((broker?.configEntries ?? []).map((e) => [e.configName, e.configValue]))).toEqual({
        'min.insync.replicas': '2',
        'transaction.state.log.min.isr': '2',
      });
    } finally {
      await transactional.disconnect().catch(() => undefined);
      await admin.disconnect();
    }

    for (const group of ['cluster-spec-a', 'cluster-spec-b', uniqueName('cluster-spec')]) {
      const partition = Math.abs(javaHash(group)) % OFFSETS_PARTITIONS;
      const leader = await cluster().leaderOf('__consumer_offsets', partition);
      expect((await cluster().coordinatorOf(group)).id).toBe(leader.id);
    }
  });

  it('loses no acknowledged record when the leader of a partition is SIGKILLed; the node restarts and rejoins the ISR', async () => {
    const topic = uniqueName('cluster-leader-kill');
    const admin = kafka.admin();
    await admin.connect();
    let producer: Producer | undefined;
    try {
      await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 }]);
      producer = createSafeProducer(kafka);
      await producer.connect();
      const acknowledged: string[] = [];
      const sendOne = async () => {
        const value = String(acknowledged.length);
        await (producer as Producer).send({ topic, acks: -1, messages: [{ partition: 0, key: 'k', value }] });
        acknowledged.push(value);
      };
      for (let i = 0; i < 50; i++) await sendOne();

      const leader = await cluster().leaderOf(topic, 0);
      await leader.kill('SIGKILL');
      expect(leader.running).toBe(false);
      // Every send after the crash must still be acknowledged, by the new leader and the one follower left.
      const newLeader = await eventually(async () => {
        await sendOne();
        const now = await cluster().leaderOf(topic, 0);
        return now.id !== leader.id ? now : undefined;
      }, 60000);
      for (let i = 0; i < 50; i++) await sendOne();
      expect(newLeader.running).toBe(true);
      expect((await cluster().partitions([topic])).every((p) => !p.isr.includes(leader.id))).toBe(true);

      const read = await consumeRecords(kafka, topic, acknowledged.length);
      expect(read.map((r) => r.message.value?.toString())).toEqual(acknowledged);

      await leader.start();
      expect(leader.running).toBe(true);
      await eventually(async () => ((await cluster().underReplicated([topic])).length === 0 ? true : undefined), 120000, 250);
      // Each node's metadata, not whichever one a client asks: they catch up with the controller apart.
      for (const node of cluster().nodes) {
        const view = new Kafka({ clientId: 'cluster-spec', brokers: [node.address], logLevel: logLevel.NOTHING }).admin();
        await view.connect();
        try {
          const [described] = (await view.fetchTopicMetadata({ topics: [topic] })).topics;
          expect(described?.partitions.map((p) => [p.partitionId, p.isr.includes(leader.id)]).sort()).toEqual([
            [0, true],
            [1, true],
            [2, true],
          ]);
        } finally {
          await view.disconnect();
        }
      }
    } finally {
      await producer?.disconnect().catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('pauses a node with SIGSTOP (fenced, out of the ISR) and takes it back after SIGCONT', async () => {
    const topic = uniqueName('cluster-pause');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 }]);
      const node = await cluster().leaderOf(topic, 0);
      node.pause();
      expect([node.running, node.paused]).toEqual([true, true]);
      await eventually(
        async () =>
          (await cluster().partitions([topic])).every((p) => p.leader !== node.id && !p.isr.includes(node.id)) ? true : undefined,
        60000,
        250,
      );
      node.resume();
      expect(node.paused).toBe(false);
      await eventually(async () => ((await cluster().underReplicated([topic])).length === 0 ? true : undefined), 120000, 250);
    } finally {
      await admin.disconnect();
    }
  });

  it("keeps a consumer in its group while the group's coordinator stops and comes back: commits and heartbeats go to the new coordinator, with no rejoin", async () => {
    const topic = uniqueName('cluster-coordinator-move');
    const groupId = uniqueName('cluster-coordinator-move');
    const admin = kafka.admin();
    await admin.connect();
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    let joins = 0;
    let heartbeats = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => joins++);
    consumer.on(consumer.events.HEARTBEAT, () => heartbeats++);
    const partitions = [0, 1, 2];
    const commit = (offset: string) => consumer.commitOffsets(partitions.map((partition) => ({ topic, partition, offset })));
    // Heartbeats the coordinator answered, from now on: the member is alive where the group lives.
    const answeredHeartbeats = async (count: number) => {
      const from = heartbeats;
      await eventually(() => Promise.resolve(heartbeats >= from + count ? true : undefined), 60000, 50);
    };
    try {
      await ensureTopics(admin, [{ name: topic, partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 }]);
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch: () => Promise.resolve() });
      await eventually(() => Promise.resolve(joins > 0 ? true : undefined), 60000, 50);
      // A new group's coordinator can still move while __consumer_offsets settles: start from a member
      // whose commit and heartbeats the coordinator answered.
      await commit('1');
      await answeredHeartbeats(5);
      const joined = joins;

      const coordinator = await cluster().coordinatorOf(groupId);
      await coordinator.kill('SIGTERM');
      await eventually(async () => ((await cluster().coordinatorOf(groupId)).id !== coordinator.id ? true : undefined), 60000, 250);
      await commit('2');
      await answeredHeartbeats(5);

      // Back on the same address, the old coordinator answers that it is not the coordinator any more.
      await coordinator.start();
      await eventually(async () => ((await cluster().underReplicated()).length === 0 ? true : undefined), 120000, 250);
      await commit('3');
      await answeredHeartbeats(5);

      expect(joins).toBe(joined);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(committed?.partitions.map((p) => p.offset)).toEqual(['3', '3', '3']);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await admin.disconnect();
    }
  });
});
