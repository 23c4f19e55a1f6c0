// kafkajs retries a send whose request to one broker failed. These cases hold its retry to what a
// leader change needs: every partition not yet acknowledged is sent again, to its new leader, even
// when that broker already answered for other partitions of the same send; and nothing still in
// flight is sent again.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createSendMessages = require('kafkajs/src/producer/sendMessages') as (deps: unknown) => (request: unknown) => Promise<Answer[]>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createRetrier = require('kafkajs/src/retry') as (options: unknown) => unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KafkaJSConnectionError } = require('kafkajs/src/errors') as { KafkaJSConnectionError: new (message: string) => Error };

interface Answer {
  topicName: string;
  partition: number;
  errorCode: number;
  baseOffset: string;
}
interface ProduceRequest {
  topicData: { topic: string; partitions: { partition: number; messages: { value: string }[] }[] }[];
}

const TOPIC = 'input';

/** Three partitions; leaders move when `leaders` is changed. Each broker records what it was sent. */
function fakeCluster(leaders: Record<number, number>, failing: Set<number>, slow: Map<number, Promise<void>> = new Map()) {
  const received = new Map<number, string[]>();
  const broker = (nodeId: number) => ({
    nodeId,
    produce: async (request: ProduceRequest) => {
      if (failing.has(nodeId)) {
        failing.delete(nodeId);
        throw new KafkaJSConnectionError(`connect ECONNREFUSED node ${nodeId}`);
      }
      const topics = request.topicData.map(({ topic, partitions }) => ({
        topicName: topic,
        partitions: partitions.map(({ partition, messages }) => {
          received.set(partition, [...(received.get(partition) ?? []), ...messages.map((m) => m.value)]);
          return { partition, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' };
        }),
      }));
      // A slow broker has appended the records and answers later.
      const answered = slow.get(nodeId);
      slow.delete(nodeId);
      if (answered) await answered;
      return { topics };
    },
  });
  const brokers = new Map([1, 2, 3].map((id) => [id, broker(id)]));
  const cluster = {
    targetTopics: new Set([TOPIC]),
    refreshMetadataIfNecessary: () => Promise.resolve(),
    refreshMetadata: () => Promise.resolve(),
    addMultipleTargetTopics: () => Promise.resolve(),
    isConnected: () => true,
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () => [0, 1, 2].map((partitionId) => ({ partitionId, leader: leaders[partitionId] })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const byLeader: Record<string, number[]> = {};
      for (const partition of partitions) (byLeader[String(leaders[Number(partition)])] ??= []).push(Number(partition));
      return byLeader;
    },
    findBroker: ({ nodeId }: { nodeId: string }) => Promise.resolve(brokers.get(Number(nodeId))),
  };
  return { cluster, received };
}

const eosManager = {
  acquireBrokerLock: () => Promise.resolve(),
  releaseBrokerLock: () => Promise.resolve(),
  isTransactional: () => false,
  getSequence: () => 0,
  updateSequence: () => undefined,
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
};
const logger = { debug: () => undefined, error: () => undefined, warn: () => undefined, info: () => undefined };
const byPartition = ({ message }: { message: { partition: number } }) => message.partition;
/** kafkajs's send over the fake cluster, retried quickly. */
const sendWith = (cluster: unknown) =>
  createSendMessages({
    logger,
    cluster,
    partitioner: byPartition,
    eosManager,
    retrier: createRetrier({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
  });
/** What each broker received when every partition's one record was written once. */
const ONCE_EACH = [
  [0, ['p0']],
  [1, ['p1']],
  [2, ['p2']],
];

describe('kafkajs send retried after a leader moved', () => {
  it('sends the failed partition to its new leader even when that broker already answered for another partition', async () => {
    const leaders: Record<number, number> = { 0: 1, 1: 2, 2: 3 };
    const { cluster, received } = fakeCluster(leaders, new Set([2]));
    // Node 2 is down: partition 1 moves to node 1, which answered for partition 0 already.
    cluster.refreshMetadata = () => {
      leaders[1] = 1;
      return Promise.resolve();
    };
    const send = sendWith(cluster);
    const messages = [0, 1, 2].flatMap((partition) => [1, 2].map((n) => ({ partition, value: `p${partition}-${n}` })));
    const answers = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: TOPIC, messages }] });
    expect(received.get(1)).toEqual(['p1-1', 'p1-2']);
    expect(received.get(0)).toEqual(['p0-1', 'p0-2']);
    expect(received.get(2)).toEqual(['p2-1', 'p2-2']);
    expect(answers.map((a) => a.partition).sort()).toEqual([0, 1, 2]);
  });

  it('does not send again what was acknowledged', async () => {
    const leaders: Record<number, number> = { 0: 1, 1: 2, 2: 3 };
    const { cluster, received } = fakeCluster(leaders, new Set([3]));
    const send = sendWith(cluster);
    const messages = [0, 1, 2].map((partition) => ({ partition, value: `p${partition}` }));
    await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: TOPIC, messages }] });
    expect([...received.entries()].sort()).toEqual(ONCE_EACH);
  });

  it('does not send again what is still in flight to a slow broker when another broker failed', async () => {
    const leaders: Record<number, number> = { 0: 1, 1: 2, 2: 3 };
    // Node 1 has the records of partition 0 but has not answered when node 2's request fails. It
    // answers as soon as a retry plans its requests, or after 100 ms if none does meanwhile: a
    // retry planned before its answer would send partition 0 again, which an idempotent producer
    // does under new sequence numbers, so the broker writes the records twice.
    let answer = (): void => undefined;
    const slow = new Map([[1, new Promise<void>((resolve) => (answer = resolve))]]);
    const { cluster, received } = fakeCluster(leaders, new Set([2]), slow);
    const plan = cluster.findLeaderForPartitions;
    let plans = 0;
    cluster.findLeaderForPartitions = (topic, partitions) => {
      if (++plans === 2) setImmediate(answer);
      return plan(topic, partitions);
    };
    setTimeout(answer, 100);
    const send = sendWith(cluster);
    const messages = [0, 1, 2].map((partition) => ({ partition, value: `p${partition}` }));
    await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: TOPIC, messages }] });
    expect([...received.entries()].sort()).toEqual(ONCE_EACH);
  });
});
