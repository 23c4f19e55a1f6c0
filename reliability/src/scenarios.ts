import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Admin, AssignerProtocol, ConfigResourceTypes, ConfigSource, Kafka, Producer } from 'kafkajs';
import { AuditReport, HighWatermarkAdmin, parseAuditReport } from '@weblog/kafka-common';
import {
  badWebLogRecords,
  caughtUp,
  committedOffsets,
  eventually,
  hostileWebLogs,
  uniqueName,
  webLogRun,
} from '@weblog/kafka-common/testing';
import { LocalInfra, seededRandom } from '@weblog/local-infra';
import { ArchiveStore } from '@weblog/s3-archive';
import { CLUSTER_SCENARIOS } from './cluster-scenarios';
import { App, APPS, ARCHIVE_BUCKET, DeliveryMode, Fleet } from './fleet';
import { BAD_KIND_HEADER, BadKind, keepLedger, Ledger } from './ledger';

/** How hard a run pushes: `short` runs inside `npm test`, `long` is the full suite. */
export interface Profile {
  readonly name: 'short' | 'long';
  /** The generator's normal rate, records/s. */
  readonly rate: number;
  /** Records the pipeline carries before the fault, and after it before the run ends. */
  readonly settle: number;
  /** Rounds of SIGKILL: each round kills every service once, in a random order. */
  readonly killRounds: number;
  readonly brokerDownMs: number;
  readonly s3OutageMs: number;
  /** How long the S3 server stays frozen by SIGSTOP. */
  readonly s3HangMs: number;
  readonly burstFactor: number;
  readonly burstSeconds: number;
  /** Times the whole bad-input corpus is sent. */
  readonly badRounds: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  short: {
    name: 'short',
    rate: 300,
    settle: 600,
    killRounds: 1,
    brokerDownMs: 2000,
    s3OutageMs: 20000,
    s3HangMs: 20000,
    burstFactor: 5,
    burstSeconds: 10,
    badRounds: 2,
  },
  // 500 records/s leaves this pipeline headroom on a 2-core machine (the archiver's 10-record
  // objects make S3 the first limit), so recovery times measure recovery, not saturation.
  long: {
    name: 'long',
    rate: 500,
    settle: 5000,
    killRounds: 3,
    brokerDownMs: 10000,
    s3OutageMs: 60000,
    s3HangMs: 60000,
    burstFactor: 5,
    burstSeconds: 20,
    badRounds: 10,
  },
};

/** One view of the archive against the output topic. */
export interface S3Figures {
  readonly missing: number;
  readonly duplicated: number;
  readonly unexpected: number;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  readonly mode: DeliveryMode;
  readonly profile: Profile['name'];
  readonly seconds: number;
  /** What happened, in order, with seconds since the scenario started. */
  readonly faults: readonly string[];
  readonly generated: number;
  readonly verified: number;
  /** Missing in the output topic (against the input topic) and in the verifier's sequence check. */
  readonly missing: number;
  readonly verifierMissing: number;
  /** Sequences generators numbered but never got written (see `Ledger.neverWritten`). */
  readonly neverWritten: number;
  readonly duplicatedOutput: number;
  readonly verifierDuplicates: number;
  readonly outOfOrder: number;
  readonly resentByProducers: number;
  readonly altered: number;
  /** The larger of the ledger's and the verifier audit's count, each below in `s3`. */
  readonly missingInS3: number;
  readonly duplicatedInS3: number;
  readonly unexpectedInS3: number;
  /**
   * The ledger compares each output record's event id with the archived line at its partition and
   * offset; the audit is the verifier's own (`POST /audit`). -1: that view could not be taken.
   */
  readonly s3: { readonly ledger: S3Figures; readonly audit: S3Figures };
  /**
   * Records of runs sent into an earlier incarnation of the topics: those the verifier had counted
   * before the topics were deleted (null when none were), and those still in the archive. The
   * archive must keep every one of them, apart from the new incarnation's.
   */
  readonly earlierIncarnationRecords: number | null;
  /** Archived lines behind the previous line of their partition, by the verifier's audit. */
  readonly outOfOrderInS3: number;
  readonly earlierIncarnationInS3: number;
  readonly archiveProblems: number;
  /** A few S3 differences the ledger found, by position and event id. */
  readonly s3Examples: readonly string[];
  readonly deadLettered: number;
  readonly badSent: number;
  readonly badKinds: number;
  /** The slowest recovery of the scenario's faults, in seconds; null when nothing was injected. */
  readonly recoverySeconds: number | null;
  readonly peakRssMiB: Record<App, number>;
  /** Every required outcome that did not hold; empty means the scenario passed. */
  readonly failures: readonly string[];
}

export interface ScenarioContext {
  readonly fleet: Fleet;
  readonly infra: LocalInfra;
  readonly admin: HighWatermarkAdmin;
  readonly producer: Producer;
  readonly profile: Profile;
  readonly random: () => number;
  /** Notes a fault in the report, with the time since the scenario started. */
  note(what: string): void;
  /** Records the recovery time of one fault, in ms. */
  recovered(ms: number): void;
  /** The topics are about to be deleted: `records` records of the runs so far belong to their earlier incarnation. */
  earlierIncarnation(records: number): void;
  /** Sends the bad-input corpus round after round, each record between two good ones of its key. */
  sendBadInput(rounds: number): Promise<void>;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly mode: DeliveryMode;
  /** Recovery above this fails the scenario. */
  readonly recoveryLimitMs?: number;
  /** The profiles that run it when no scenario is named; both unless it says otherwise. */
  readonly profiles?: readonly Profile['name'][];
  /** Its fault is about its own mode's delivery, so `--mode` cannot change that mode. */
  readonly modeFixed?: boolean;
  inject(ctx: ScenarioContext): Promise<void>;
}

/**
 * The scenario with the transformer in `mode` (`--mode`), judged by that mode's rules; undefined
 * for one whose fault belongs to its own mode.
 */
export function inMode(scenario: Scenario, mode: DeliveryMode | undefined): Scenario | undefined {
  if (mode === undefined || mode === scenario.mode) return scenario;
  return scenario.modeFixed ? undefined : { ...scenario, mode };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the current run has carried `records` more records end to end. */
async function carry(fleet: Fleet, records: number): Promise<void> {
  const run = fleet.currentRun;
  const seq = await fleet.acknowledged();
  await fleet.flowingPast(run, seq + records, 120000);
}

function killEach(mode: DeliveryMode): Scenario {
  return {
    name: `sigkill-services-${mode}`,
    title: 'SIGKILL of every service at random moments, restarted each time',
    mode,
    modeFixed: true,
    async inject({ fleet, admin, profile, random, note, recovered }) {
      for (let round = 1; round <= profile.killRounds; round++) {
        for (const app of shuffled(APPS, random)) {
          // The random moment of the fault, not a wait for readiness.
          await pause(500 + Math.floor(random() * 2500));
          const killedAt = Date.now();
          await fleet.kill(app);
          note(`SIGKILL ${app}`);
          await fleet.restart(app);
          recovered(await fleet.recovered(admin, killedAt));
        }
      }
    },
  };
}

const brokerRestart: Scenario = {
  name: 'broker-restart',
  title: 'Kafka broker SIGKILLed mid-run, restarted on the same data',
  mode: 'exactly-once',
  recoveryLimitMs: 30000,
  async inject({ fleet, infra, admin, profile, note, recovered }) {
    await infra.killKafka();
    note('SIGKILL Kafka broker');
    await pause(profile.brokerDownMs);
    await infra.startKafka();
    const back = Date.now();
    note('Kafka broker restarted');
    recovered(await fleet.recovered(admin, back));
  },
};

const s3Outage: Scenario = {
  name: 's3-outage',
  title: 'S3 server stopped mid-run, then started again',
  mode: 'exactly-once',
  async inject({ fleet, infra, admin, profile, note, recovered }) {
    await infra.stopS3();
    note(`S3 stopped for ${profile.s3OutageMs / 1000} s`);
    await eventually(async () => ((await fleet.service('s3-archiver').get('/health/ready')).status === 503 ? true : undefined), 30000);
    note('archiver reports not ready');
    // The outage lasts this long by definition of the scenario.
    await pause(profile.s3OutageMs);
    await infra.startS3();
    const back = Date.now();
    note('S3 started');
    recovered(await fleet.recovered(admin, back));
  },
};

const badInput: Scenario = {
  name: 'bad-input',
  title: 'Bad-input corpus between good records, alongside the generator',
  mode: 'exactly-once',
  async inject({ fleet, admin, profile, note, recovered, sendBadInput }) {
    const started = Date.now();
    await sendBadInput(profile.badRounds);
    note(`${profile.badRounds} rounds of the bad-input corpus sent`);
    recovered(await fleet.recovered(admin, started));
  },
};

const burst: Scenario = {
  name: 'burst',
  title: 'Burst at several times the normal rate, then back to normal',
  mode: 'exactly-once',
  async inject({ fleet, admin, profile, note, recovered }) {
    const rate = fleet.rate * profile.burstFactor;
    const count = rate * profile.burstSeconds;
    const burstRun = await fleet.startGenerator(rate, count, 'burst');
    note(`burst of ${count} records at ${rate}/s on top of ${fleet.rate}/s`);
    expect0(await fleet.service('burst').waitForExit(profile.burstSeconds * 1000 + 120000), 'the burst generator');
    const ended = Date.now();
    note('burst over');
    await eventually(
      async () => {
        const run = (await fleet.report()).runs.find((r) => r.runId === burstRun);
        return run && run.unique >= count ? true : undefined;
      },
      180000,
      100,
    );
    recovered(await fleet.recovered(admin, ended));
  },
};

const rollingRestart: Scenario = {
  name: 'rolling-restart',
  title: 'Rolling restart: SIGTERM and start of every service, one after another',
  mode: 'exactly-once',
  async inject({ fleet, admin, note, recovered }) {
    for (const app of APPS) {
      const stoppedAt = Date.now();
      expect0(await fleet.stop(app), `${app} on SIGTERM`);
      note(`${app} stopped (exit 0) and started`);
      await fleet.restart(app);
      recovered(await fleet.recovered(admin, stoppedAt));
    }
  },
};

/**
 * Five scenarios of a minute or more each would take the short profile, part of `npm test`, well
 * past 8 minutes on 2 cores: these run in the long profile, or when named.
 */
const LONG_ONLY: readonly Profile['name'][] = ['long'];

/** A random moment of the fault, as in the kill scenarios: not a wait for readiness. */
const randomMoment = (random: () => number) => pause(500 + Math.floor(random() * 2500));

/**
 * Waits until a group is stable with `members` members, each of them holding partitions of
 * `topic`: after a scale-out, a scale-in or an eviction, the partitions have moved.
 */
async function groupOf(admin: Admin, groupId: string, topic: string, members: number, timeoutMs = 90000): Promise<void> {
  await eventually(
    async () => {
      const [group] = (await admin.describeGroups([groupId])).groups;
      if (!group || group.state !== 'Stable' || group.members.length !== members) return undefined;
      const holding = group.members.filter((member) => {
        const assigned = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        return (assigned?.assignment[topic]?.length ?? 0) > 0;
      });
      return holding.length === members ? true : undefined;
    },
    timeoutMs,
    250,
  ).catch((error: unknown) => {
    throw new Error(`group ${groupId} did not settle at ${members} members holding partitions of ${topic}: ${String(error)}`);
  });
}

const transformerScale: Scenario = {
  name: 'transformer-scale-exactly-once',
  title: 'Transformers scaled 1 -> 2 -> 1 under load: a second instance joins the group, later one gets SIGTERM',
  mode: 'exactly-once',
  modeFixed: true,
  profiles: LONG_ONLY,
  async inject({ fleet, admin, profile, random, note, recovered }) {
    const joinedAt = Date.now();
    const second = await fleet.startInstance('transformer');
    await groupOf(admin, fleet.groups.transformer, fleet.topics.input, 2);
    note(`scaled out: ${second} joined, two transformers share the input partitions`);
    recovered(await fleet.recovered(admin, joinedAt));
    await carry(fleet, profile.settle);
    await randomMoment(random);
    // The first instance leaves: its partitions move to the one that joined, mid-stream.
    const stoppedAt = Date.now();
    expect0(await fleet.stop('transformer'), 'transformer on SIGTERM (scale-in)');
    note(`scaled in: transformer stopped (exit 0), ${second} carries on alone`);
    await groupOf(admin, fleet.groups.transformer, fleet.topics.input, 1);
    recovered(await fleet.recovered(admin, stoppedAt));
  },
};

const zombieTransformer: Scenario = {
  name: 'zombie-transformer',
  title: 'One of two transformers frozen (SIGSTOP) past its session timeout, then resumed: the fenced zombie adds nothing',
  mode: 'exactly-once',
  modeFixed: true,
  profiles: LONG_ONLY,
  async inject({ fleet, admin, random, note, recovered }) {
    const survivor = await fleet.startInstance('transformer');
    await groupOf(admin, fleet.groups.transformer, fleet.topics.input, 2);
    note(`${survivor} joined: two transformers share the input partitions`);
    await randomMoment(random);
    const frozenAt = Date.now();
    fleet.pause('transformer');
    note('SIGSTOP transformer');
    try {
      // Evicted once its session timed out; the survivor then owns every partition and, by
      // initialising their transactional ids, fences the zombie's producers.
      await groupOf(admin, fleet.groups.transformer, fleet.topics.input, 1);
      note(`transformer evicted after its session timeout, ${survivor} holds every partition`);
      await carry(fleet, fleet.rate * 2);
    } finally {
      fleet.resume('transformer');
    }
    note('SIGCONT transformer: the zombie wakes with its old assignment and fenced producers');
    await groupOf(admin, fleet.groups.transformer, fleet.topics.input, 2);
    note('transformer rejoined the group');
    recovered(await fleet.recovered(admin, frozenAt));
  },
};

const archiverScaleIn: Scenario = {
  name: 'archiver-scale-in',
  title: 'Two archivers; one gets SIGTERM (scale-in) as the exactly-once transformer is SIGKILLed upstream',
  mode: 'exactly-once',
  modeFixed: true,
  profiles: LONG_ONLY,
  async inject({ fleet, admin, random, note, recovered }) {
    const remaining = await fleet.startInstance('s3-archiver');
    await groupOf(admin, fleet.groups.archiver, fleet.topics.output, 2);
    note(`${remaining} joined: two archivers share the output partitions`);
    await randomMoment(random);
    const faultAt = Date.now();
    // The killed transformer leaves an open transaction in output-topic; its successor aborts it
    // while the stopped archiver drains, so the archivers meet batches of aborted records only.
    const [code] = await Promise.all([fleet.stop('s3-archiver'), fleet.kill('transformer').then(() => fleet.restart('transformer'))]);
    expect0(code, 's3-archiver on SIGTERM (scale-in)');
    note(`SIGKILL transformer and SIGTERM s3-archiver together: transformer restarted, s3-archiver exited 0, ${remaining} carries on`);
    await groupOf(admin, fleet.groups.archiver, fleet.topics.output, 1);
    recovered(await fleet.recovered(admin, faultAt));
  },
};

/** SIGSTOP or SIGCONT of the S3 server and anything it started (it leads its own process group). */
function signalS3(infra: LocalInfra, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const pid = infra.pids().s3;
  if (pid === undefined) throw new Error('the S3 server is not running here');
  process.kill(-pid, signal);
}

/** What an HTTP endpoint answers within 2 s: a frozen dependency can make a health check hang too. */
async function answerOf(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  return response ? String(response.status) : 'no answer within 2 s';
}

const s3Hang: Scenario = {
  name: 's3-hang',
  title: 'S3 server frozen by SIGSTOP mid-run (connections open, no answers), then SIGCONT',
  mode: 'exactly-once',
  profiles: LONG_ONLY,
  async inject({ fleet, infra, admin, profile, note, recovered }) {
    signalS3(infra, 'SIGSTOP');
    note(`S3 hung (SIGSTOP) for ${profile.s3HangMs / 1000} s`);
    try {
      // The hang lasts this long by definition of the scenario.
      await pause(profile.s3HangMs);
      note(`archiver /health/ready during the hang: ${await answerOf(`${fleet.service('s3-archiver').url}/health/ready`)}`);
    } finally {
      signalS3(infra, 'SIGCONT');
    }
    const back = Date.now();
    note('S3 resumed (SIGCONT)');
    recovered(await fleet.recovered(admin, back));
  },
};

/** Waits until a group has committed the end of every partition; says where it stands if it does not. */
async function drained(admin: HighWatermarkAdmin, groupId: string, topic: string, timeoutMs = 180000): Promise<void> {
  try {
    await eventually(() => caughtUp(admin, groupId, topic), timeoutMs);
  } catch (error) {
    const ends = await admin.fetchTopicOffsets(topic).catch(() => []);
    const committed = await committedOffsets(admin, groupId, topic).catch(() => new Map<number, number>());
    const where = ends.map((p) => `${p.partition}: ${committed.get(p.partition) ?? 'none'} of ${p.high}`).join(', ');
    throw new Error(`${groupId} did not commit the end of ${topic} (committed of end per partition: ${where}): ${String(error)}`);
  }
}

/** Deletes topics and waits until the broker no longer lists them. */
async function deleteTopics(admin: Admin, names: readonly string[]): Promise<void> {
  await admin.deleteTopics({ topics: [...names], timeout: 30000 });
  await eventually(async () => {
    const listed = new Set(await admin.listTopics());
    return names.some((name) => listed.has(name)) ? undefined : true;
  }, 60000);
}

const topicRecreation: Scenario = {
  name: 'topic-recreation',
  title: 'input-topic and output-topic deleted and recreated under the same names, then a new run',
  mode: 'exactly-once',
  profiles: LONG_ONLY,
  async inject({ fleet, admin, note, recovered, earlierIncarnation }) {
    expect0(await fleet.stop('weblog-generator'), 'the generator on SIGTERM');
    await drained(admin, fleet.groups.transformer, fleet.topics.input);
    await drained(admin, fleet.groups.archiver, fleet.topics.output);
    const first = (await fleet.report()).runs.filter((r) => fleet.runIds.includes(r.runId)).reduce((sum, r) => sum + r.unique, 0);
    earlierIncarnation(first);
    note(`generator stopped, transformer and archiver groups caught up: ${first} records in the first incarnation`);
    const names = [fleet.topics.input, fleet.topics.output];
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    // Topic-level settings go with the names: whatever a service set when it created them.
    const described = await admin.describeConfigs({
      resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
      includeSynonyms: false,
    });
    const specs = topics.map((topic) => ({
      topic: topic.name,
      numPartitions: topic.partitions.length,
      replicationFactor: topic.partitions[0]?.replicas.length ?? 1,
      configEntries: (described.resources.find((r) => r.resourceName === topic.name)?.configEntries ?? [])
        .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG)
        .map((entry) => ({ name: entry.configName, value: entry.configValue })),
    }));
    await deleteTopics(admin, names);
    note(`${names.join(' and ')} deleted`);
    // Right after a deletion the brokers may still answer for the old partitions: ask until the
    // new ones exist (a retry after a half-answered request finds them created, which is as good).
    await eventually(
      async () => {
        await admin.createTopics({ topics: specs, waitForLeaders: true });
        return true;
      },
      60000,
      500,
    );
    await eventually(async () => {
      const offsets = await Promise.all(names.map((name) => admin.fetchTopicOffsets(name)));
      return offsets.every((partitions, i) => partitions.length === specs[i]?.numPartitions) ? true : undefined;
    }, 60000);
    const earlier = fleet.retireRuns();
    note(`recreated with ${specs.map((s) => `${s.numPartitions} partitions`).join(' and ')}; run ${earlier.join(', ')} set apart`);
    const since = Date.now();
    await fleet.startGenerator(fleet.rate);
    note(`new run ${fleet.currentRun} into the recreated topics`);
    recovered(await fleet.recovered(admin, since));
  },
};

function expect0(code: number | null, what: string): void {
  if (code !== 0) throw new Error(`${what} exited with ${String(code)}`);
}

export const SCENARIOS: readonly Scenario[] = [
  killEach('exactly-once'),
  killEach('at-least-once'),
  brokerRestart,
  s3Outage,
  badInput,
  burst,
  rollingRestart,
  transformerScale,
  zombieTransformer,
  archiverScaleIn,
  s3Hang,
  topicRecreation,
  ...CLUSTER_SCENARIOS,
];

/** The scenarios a profile runs when none is named. */
export function scenariosOf(profile: Profile['name']): Scenario[] {
  return SCENARIOS.filter((scenario) => scenario.profiles?.includes(profile) ?? true);
}

/** The corpus: every kind the transformer must dead-letter, with the reason it must give. */
function corpus(): { kinds: BadKind[]; values: (Buffer | null)[] } {
  const records = badWebLogRecords();
  return { kinds: records.map((r) => ({ name: r.name, reason: r.reason })), values: records.map((r) => r.value) };
}

/** Runs one scenario on its own fleet and judges the outcome. */
export async function runScenario(
  scenario: Scenario,
  deps: { infra: LocalInfra; kafka: Kafka; admin: HighWatermarkAdmin; producer: Producer; logDir: string },
  profile: Profile,
  seed: number,
  log: (line: string) => void = () => undefined,
): Promise<ScenarioResult> {
  const started = Date.now();
  const id = uniqueName(scenario.name);
  const fleet = new Fleet(id, scenario.mode, deps.infra.env(), profile.rate, path.join(deps.logDir, id));
  const faults: string[] = [];
  const recoveries: number[] = [];
  const bad = corpus();
  const badSent = bad.kinds.map(() => 0);
  const hostile = hostileWebLogs();
  const note = (what: string) => {
    const line = `${((Date.now() - started) / 1000).toFixed(1)} s ${what}`;
    faults.push(line);
    log(`  ${scenario.name}: ${line}`);
  };
  const failures: string[] = [];
  let earlierIncarnationRecords: number | null = null;
  const s3 = new S3Client({
    endpoint: deps.infra.s3.endpoint,
    region: deps.infra.s3.region,
    forcePathStyle: deps.infra.s3.forcePathStyle,
    credentials: { accessKeyId: deps.infra.s3.accessKeyId, secretAccessKey: deps.infra.s3.secretAccessKey },
  });
  const archive = new ArchiveStore(s3, ARCHIVE_BUCKET);
  try {
    await fleet.startPipeline();
    note('fleet ready, generator running');
    await carry(fleet, profile.settle);
    const ctx: ScenarioContext = {
      fleet,
      infra: deps.infra,
      admin: deps.admin,
      producer: deps.producer,
      profile,
      random: seededRandom(seed),
      note,
      recovered: (ms) => recoveries.push(ms),
      earlierIncarnation: (records) => (earlierIncarnationRecords = (earlierIncarnationRecords ?? 0) + records),
      async sendBadInput(rounds) {
        const probeRun = `${fleet.id}-probe`;
        if (!fleet.runIds.includes(probeRun)) fleet.runIds.push(probeRun);
        const goods = webLogRun(rounds * (bad.values.length * 2 + hostile.length), 40, probeRun);
        let next = 0;
        for (let round = 0; round < rounds; round++) {
          for (const [kind, value] of bad.values.entries()) {
            const [before, after] = [goods[next++], goods[next++]];
            if (!before || !after) throw new Error('ran out of probe records');
            const json = (r: typeof before) => ({ key: r.key, value: JSON.stringify(r.value), headers: r.headers });
            // One send per record keeps the order exact: good, bad, good on one key's partition.
            for (const message of [json(before), { key: before.key, value, headers: { [BAD_KIND_HEADER]: String(kind) } }, json(after)]) {
              await deps.producer.send({ topic: fleet.topics.input, acks: -1, messages: [message] });
            }
            badSent[kind] = (badSent[kind] ?? 0) + 1;
          }
          for (const { value } of hostile) {
            const probe = goods[next++];
            if (!probe) throw new Error('ran out of probe records');
            await deps.producer.send({
              topic: fleet.topics.input,
              acks: -1,
              messages: [{ key: value.ip, value: JSON.stringify({ ...value, event_id: probe.value.event_id }), headers: probe.headers }],
            });
          }
        }
      },
    };
    await scenario.inject(ctx);
    await carry(fleet, profile.settle);
    note('run ends: generator stopped, pipeline drains');
  } catch (error) {
    failures.push(`scenario did not complete: ${error instanceof Error ? error.message : String(error)}`);
  }

  let ledger: Ledger | undefined;
  let audit: AuditReport | undefined;
  let report: Awaited<ReturnType<Fleet['report']>> | undefined;
  try {
    const stoppedWith = await fleet.stop('weblog-generator');
    if (stoppedWith !== 0 && stoppedWith !== null) failures.push(`the generator exited with ${stoppedWith} on SIGTERM`);
    await drained(deps.admin, fleet.groups.transformer, fleet.topics.input);
    // The archive is read once the archiver has committed the end of the output topic; if it never
    // does, the ledger still says which records S3 lacks.
    await drained(deps.admin, fleet.groups.archiver, fleet.topics.output).catch((error: unknown) => {
      failures.push(`the archiver did not drain: ${error instanceof Error ? error.message : String(error)}`);
    });
    ledger = await keepLedger(
      deps.kafka,
      fleet.topics,
      { kinds: bad.kinds, sent: badSent },
      { store: archive, topicsDir: fleet.id },
      new Set(fleet.retiredRunIds),
    );
    const expected = ledger.generated;
    report = await eventually(
      async () => {
        const found = await fleet.report();
        const unique = found.runs.filter((r) => fleet.runIds.includes(r.runId)).reduce((sum, r) => sum + r.unique, 0);
        return unique >= expected ? found : undefined;
      },
      180000,
      250,
    ).catch(() => fleet.report());
    audit = parseAuditReport(await (await fetch(`${fleet.service('verifier').url}/audit`, { method: 'POST' })).text());
  } catch (error) {
    failures.push(`the pipeline did not drain: ${error instanceof Error ? error.message : String(error)}`);
  }
  s3.destroy();
  await fleet.shutdown();
  const crashes = fleet.crashes;
  await fleet.killAll();

  const runs = (report?.runs ?? []).filter((r) => fleet.runIds.includes(r.runId));
  const sum = (pick: (r: (typeof runs)[number]) => number) => runs.reduce((total, r) => total + pick(r), 0);
  const s3Ledger: S3Figures = {
    missing: ledger?.missingInS3 ?? -1,
    duplicated: ledger?.duplicatedInS3 ?? -1,
    unexpected: ledger?.unexpectedInS3 ?? -1,
  };
  const s3Audit: S3Figures = {
    missing: audit?.missingInS3 ?? -1,
    duplicated: audit?.duplicatedInS3 ?? -1,
    // Other records where live ones belong are strangers too, only named apart by the audit.
    unexpected: audit ? audit.unexpectedInS3 + audit.otherRecordsInS3 : -1,
  };
  const result: ScenarioResult = {
    scenario: scenario.name,
    title: scenario.title,
    mode: scenario.mode,
    profile: profile.name,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    faults,
    generated: ledger?.generated ?? 0,
    verified: sum((r) => r.unique),
    missing: ledger?.missing ?? -1,
    verifierMissing: sum((r) => r.missing),
    neverWritten: ledger?.neverWritten ?? 0,
    duplicatedOutput: ledger?.duplicatedOutput ?? -1,
    verifierDuplicates: sum((r) => r.duplicates),
    outOfOrder: sum((r) => r.outOfOrder),
    resentByProducers: ledger?.resentByProducers ?? 0,
    altered: ledger?.altered ?? -1,
    missingInS3: Math.max(s3Ledger.missing, s3Audit.missing),
    duplicatedInS3: Math.max(s3Ledger.duplicated, s3Audit.duplicated),
    unexpectedInS3: Math.max(s3Ledger.unexpected, s3Audit.unexpected),
    s3: { ledger: s3Ledger, audit: s3Audit },
    earlierIncarnationRecords,
    outOfOrderInS3: audit?.outOfOrderInS3 ?? -1,
    earlierIncarnationInS3: ledger?.earlierIncarnationInS3 ?? 0,
    archiveProblems: ledger?.archiveProblems ?? -1,
    s3Examples: ledger?.s3Examples ?? [],
    deadLettered: ledger?.deadLettered ?? 0,
    badSent: ledger?.badSent ?? 0,
    badKinds: bad.kinds.length,
    recoverySeconds: recoveries.length ? Math.round(Math.max(...recoveries) / 100) / 10 : null,
    peakRssMiB: fleet.peakRssMiB(),
    failures,
  };
  return { ...result, failures: [...failures, ...judge(result, ledger, crashes, scenario.recoveryLimitMs)] };
}

/** The required outcomes: every one that does not hold, in words. */
export function judge(result: ScenarioResult, ledger: Ledger | undefined, crashes: readonly string[], recoveryLimitMs?: number): string[] {
  const failures: string[] = [...crashes.map((c) => `a service needed a manual restart: ${c}`)];
  // A run that did not drain has no ledger to judge; its failure is recorded already.
  if (!ledger) return failures;
  const zero = (value: number, what: string) => {
    if (value !== 0) failures.push(`${what}: ${value}, expected 0`);
  };
  if (result.generated === 0) failures.push('no records were generated');
  zero(result.missing, 'records missing from the output topic');
  // Gaps of sequences no generator got written are no loss: every record that was written is
  // checked against the verifier's count just below.
  zero(result.verifierMissing - result.neverWritten, 'sequence gaps the verifier found beyond the sequences no generator wrote');
  if (result.verified !== result.generated)
    failures.push(`the verifier counted ${result.verified} records, the input topic holds ${result.generated}`);
  zero(result.altered, 'output records that are not their input upper-cased');
  zero(ledger?.unexpectedOutput ?? 0, 'output records of no input');
  for (const [view, figures] of [
    ['ledger, by event id at each position', result.s3.ledger],
    ['verifier audit', result.s3.audit],
  ] as const) {
    zero(figures.missing, `output records missing in S3 (${view})`);
    zero(figures.duplicated, `output records in S3 more than once (${view})`);
    zero(figures.unexpected, `S3 records not in the output topic (${view})`);
  }
  zero(result.archiveProblems, 'archive objects or lines that could not be read');
  zero(result.outOfOrderInS3, 'S3 lines behind the previous line of their partition (verifier audit)');
  if (result.earlierIncarnationRecords !== null && result.earlierIncarnationInS3 < result.earlierIncarnationRecords) {
    failures.push(
      `records of the topics' earlier incarnation gone from S3: ${result.earlierIncarnationRecords - result.earlierIncarnationInS3} of ${result.earlierIncarnationRecords}`,
    );
  }
  if (failures.some((f) => f.includes('in S3') || f.startsWith('S3 records')) && result.s3Examples.length > 0) {
    failures.push(`S3 differences, for example: ${result.s3Examples.join('; ')}`);
  }
  zero(result.outOfOrder, 'records behind a later record of their key');
  if (result.mode === 'exactly-once') {
    zero(result.duplicatedOutput, 'duplicates the pipeline added to the output topic (exactly-once)');
    zero(result.verifierDuplicates, "duplicates in the verifier's report (exactly-once)");
  }
  // The generators' producers are idempotent: a send retried inside the client must not be written twice.
  zero(result.resentByProducers, 'input records a generator wrote more than once');
  zero(result.deadLettered - result.badSent, 'dead letters beyond the bad records sent');
  for (const misfiled of ledger?.badMisfiled ?? []) failures.push(`bad record not dead-lettered as expected: ${misfiled}`);
  if (recoveryLimitMs !== undefined && result.recoverySeconds !== null && result.recoverySeconds * 1000 > recoveryLimitMs) {
    failures.push(`recovery took ${result.recoverySeconds} s, the limit is ${recoveryLimitMs / 1000} s`);
  }
  return failures;
}
