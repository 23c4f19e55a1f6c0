// kafkajs rejoins its group when a fetch or heartbeat says the group is rebalancing (or that its
// coordinator moved). When that rejoin failed, its runner fetched again by the assignment of the
// generation it was leaving: outside the group, without a join event, so the transport refused
// every commit while the partitions were consumed (a long reliability run's archiver, after its
// coordinator moved and answered "loading" to the join). The patch ends the run instead, and
// kafkajs restarts the consumer, which joins anew. These cases drive kafkajs's runner with a group
// whose rejoin fails.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Runner = require('kafkajs/src/consumer/runner') as new (options: Record<string, unknown>) => {
  start(): Promise<void>;
  stop(): Promise<void>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KafkaJSProtocolError } = require('kafkajs/src/errors') as { KafkaJSProtocolError: new (e: object) => Error };

interface Crash extends Error {
  cause?: { type?: string };
}

const protocolError = (type: string, code: number) => new KafkaJSProtocolError({ type, code, retriable: true, message: type });

const logger = {
  namespace: () => logger,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A group whose fetch first says it is rebalancing, and whose rejoin then fails with `joinError`. */
function groupWhoseRejoinFails(joinError: Error) {
  const calls = { joins: 0, fetches: 0, fetchesAfterFailedRejoin: 0 };
  const group = {
    groupId: 'g',
    memberId: 'm',
    connect: () => Promise.resolve(),
    getNodeIds: () => [1],
    heartbeat: () => Promise.resolve(),
    leave: () => Promise.resolve(),
    joinAndSync: () => {
      calls.joins++;
      return calls.joins === 1 ? Promise.resolve() : Promise.reject(joinError);
    },
    fetch: async () => {
      calls.fetches++;
      if (calls.fetches === 1) throw protocolError('NOT_COORDINATOR_FOR_GROUP', 16);
      if (calls.joins > 1) calls.fetchesAfterFailedRejoin++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return [];
    },
  };
  return { group, calls };
}

async function runUntilCrash(joinError: Error): Promise<{ crash: Crash; calls: { joins: number; fetchesAfterFailedRejoin: number } }> {
  const { group, calls } = groupWhoseRejoinFails(joinError);
  let crashed: (error: Crash) => void = () => undefined;
  const crash = new Promise<Crash>((resolve) => (crashed = resolve));
  const runner = new Runner({
    logger,
    consumerGroup: group,
    instrumentationEmitter: { emit: () => undefined },
    eachBatch: () => Promise.resolve(),
    concurrency: 1,
    heartbeatInterval: 3000,
    retry: { retries: 3, initialRetryTime: 10, maxRetryTime: 50 },
    autoCommit: false,
    onCrash: (error: Crash) => crashed(error),
  });
  await runner.start();
  // Unpatched, the runner fetches on after the failed rejoin and never crashes: give up after 2 s.
  const result = await Promise.race([crash, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref())]);
  await runner.stop();
  if (result === undefined) throw new Error(`no crash: ${calls.fetchesAfterFailedRejoin} fetches after the failed rejoin`);
  return { crash: result, calls };
}

describe('kafkajs runner, a rejoin that fails', () => {
  it('ends the run (kafkajs restarts the consumer) instead of fetching by the old assignment', async () => {
    const { crash, calls } = await runUntilCrash(protocolError('GROUP_LOAD_IN_PROGRESS', 14));
    expect(calls.fetchesAfterFailedRejoin).toBe(0);
    // The cause stays the retriable protocol error, which is what makes kafkajs restart the consumer.
    expect(crash.cause?.type).toBe('GROUP_LOAD_IN_PROGRESS');
  });

  it('does the same whatever the rejoin failed with', async () => {
    const { calls } = await runUntilCrash(new Error('connection closed'));
    expect(calls.fetchesAfterFailedRejoin).toBe(0);
    expect(calls.joins).toBe(2);
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup') as new (options: Record<string, unknown>) => {
  joinAndSync(): Promise<void>;
};

describe('kafkajs consumer group, a join the coordinator cannot take yet', () => {
  /** Joins against a coordinator that answers the first join with `first`; the second join is stopped by a marker error. */
  async function joinsAfter(first: Error): Promise<{ lookups: number; joins: number; error: Error }> {
    const seen = { lookups: 0, joins: 0 };
    const coordinator = {
      joinGroup: () => {
        seen.joins++;
        return Promise.reject(seen.joins === 1 ? first : Object.assign(new Error('second join'), { retriable: false }));
      },
    };
    const group = new ConsumerGroup({
      retry: { retries: 3, initialRetryTime: 10, maxRetryTime: 50 },
      cluster: {
        findGroupCoordinator: () => {
          seen.lookups++;
          return Promise.resolve(coordinator);
        },
      },
      groupId: 'g',
      topics: ['t'],
      logger,
      instrumentationEmitter: { emit: () => undefined },
      assigners: [],
    });
    const error = await group.joinAndSync().then(
      () => new Error('joined'),
      (failure: Error) => failure,
    );
    return { ...seen, error };
  }

  it('asks again, the coordinator looked up first, when the new coordinator is still loading the group', async () => {
    const { lookups, joins, error } = await joinsAfter(protocolError('GROUP_LOAD_IN_PROGRESS', 14));
    expect(joins).toBe(2);
    expect(lookups).toBe(2);
    expect(error.message).toContain('second join');
  });

  it('asks again when no coordinator is available yet', async () => {
    const { joins } = await joinsAfter(protocolError('GROUP_COORDINATOR_NOT_AVAILABLE', 15));
    expect(joins).toBe(2);
  });
});
