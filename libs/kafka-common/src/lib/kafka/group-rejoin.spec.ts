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

// When the group's coordinator moves (a broker restart or controlled shutdown, a leader moved back
// to its preferred broker), the broker that takes the group over is named by FindCoordinator a
// moment before it has loaded the group, and answers "not the coordinator" until then. A heartbeat
// or commit that tried the new broker once and gave up made kafkajs rejoin the group (a rebalance
// of every member) or failed the commit: seen in the three-node cluster e2e case, where the new
// coordinator refused requests for 400 ms after the old one's controlled shutdown. The patch
// follows the coordinator for up to a session timeout.

interface StubCoordinator {
  readonly calls: number;
  heartbeat(): Promise<void>;
  offsetCommit(): Promise<void>;
  isConnected(): boolean;
}

/** A broker that answers "not the coordinator" to its first `refusals` requests, and then takes them. */
function coordinatorAfter(refusals: number): StubCoordinator {
  let calls = 0;
  const answer = () => (++calls <= refusals ? Promise.reject(protocolError('NOT_COORDINATOR_FOR_GROUP', 16)) : Promise.resolve());
  return {
    get calls() {
      return calls;
    },
    heartbeat: answer,
    offsetCommit: answer,
    isConnected: () => true,
  };
}

/** The cluster names `next` as the coordinator from now on. */
function clusterNaming(next: StubCoordinator) {
  const seen = { lookups: 0 };
  const committed = {};
  return {
    seen,
    cluster: { findGroupCoordinator: () => (seen.lookups++, Promise.resolve(next)), committedOffsets: () => committed },
  };
}

describe('kafkajs consumer group, a heartbeat while the coordinator moves', () => {
  const SESSION_MS = 1500;

  async function heartbeat(old: StubCoordinator, next: StubCoordinator) {
    const { seen, cluster } = clusterNaming(next);
    const beats: unknown[] = [];
    const group = new ConsumerGroup({
      retry: { retries: 0 },
      cluster,
      groupId: 'g',
      topics: ['t'],
      logger,
      instrumentationEmitter: { emit: (event: string, payload: unknown) => event.endsWith('heartbeat') && beats.push(payload) },
      assigners: [],
      sessionTimeout: SESSION_MS,
    }) as unknown as {
      heartbeat(o: { interval: number }): Promise<void>;
      memberId: string;
      generationId: number;
      coordinator: StubCoordinator;
    };
    Object.assign(group, { memberId: 'm', generationId: 1, coordinator: old });
    const started = Date.now();
    const outcome = await group.heartbeat({ interval: 0 }).then(
      () => 'beat',
      (error: Error & { type?: string }) => error.type ?? error.message,
    );
    return { outcome, beats: beats.length, lookups: seen.lookups, took: Date.now() - started, coordinator: group.coordinator };
  }

  it('beats at the new coordinator once it has loaded the group, without rejoining', async () => {
    const next = coordinatorAfter(3);
    const result = await heartbeat(coordinatorAfter(Infinity), next);
    expect(result.outcome).toBe('beat');
    expect(result.beats).toBe(1);
    expect(next.calls).toBe(4);
    expect(result.lookups).toBe(4);
    expect(result.coordinator).toBe(next);
  });

  it('gives up when the session would have expired, so the group is rejoined', async () => {
    const result = await heartbeat(coordinatorAfter(Infinity), coordinatorAfter(Infinity));
    expect(result.outcome).toBe('NOT_COORDINATOR_FOR_GROUP');
    expect(result.beats).toBe(0);
    expect(result.lookups).toBeGreaterThan(2);
    expect(result.took).toBeLessThanOrEqual(SESSION_MS + 100);
  });

  it('does not follow an answer that is not about the coordinator (a rebalance is rejoined at once)', async () => {
    const old = { ...coordinatorAfter(0), heartbeat: () => Promise.reject(protocolError('REBALANCE_IN_PROGRESS', 27)) };
    const result = await heartbeat(old, coordinatorAfter(0));
    expect(result.outcome).toBe('REBALANCE_IN_PROGRESS');
    expect(result.lookups).toBe(0);
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const OffsetManager = require('kafkajs/src/consumer/offsetManager') as new (options: Record<string, unknown>) => {
  commitOffsets(offsets: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
};

describe('kafkajs offset manager, a commit while the coordinator moves', () => {
  it('is made at the new coordinator once it has loaded the group, where it failed before', async () => {
    const next = coordinatorAfter(2);
    const { seen, cluster } = clusterNaming(next);
    const commits: unknown[] = [];
    const offsets = new OffsetManager({
      cluster,
      coordinator: coordinatorAfter(Infinity),
      sessionTimeout: 1500,
      memberAssignment: { t: [0] },
      topicConfigurations: {},
      instrumentationEmitter: { emit: (_event: string, payload: unknown) => commits.push(payload) },
      groupId: 'g',
      generationId: 1,
      memberId: 'm',
    });
    await offsets.commitOffsets({ topics: [{ topic: 't', partitions: [{ partition: 0, offset: '5' }] }] });
    expect(commits).toHaveLength(1);
    expect(next.calls).toBe(3);
    expect(seen.lookups).toBe(3);
  });
});
