import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { HighWatermarkAdmin, parseVerificationReport, VerificationReport } from '@weblog/kafka-common';
import { eventually, isolatedTopics, metricValue } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';

export const APPS = ['weblog-generator', 'transformer', 's3-archiver', 'verifier'] as const;
export type App = (typeof APPS)[number];
export type DeliveryMode = 'at-least-once' | 'exactly-once';
/** The bucket the suite's S3 server holds and every fleet archives into, each under its own prefix. */
export const ARCHIVE_BUCKET = 'weblog-archive';

interface Member {
  readonly app: App;
  readonly name: string;
  readonly process: ServiceProcess;
}

/**
 * The four services of one scenario as separate processes (one instance each, or more in one
 * group), on topics, groups and an S3 prefix of their own. Tracks every incarnation: peak memory per service (sampled from the kernel's
 * high-water mark), the generator runs it started, and any exit nobody asked for.
 */
export class Fleet {
  readonly topics: ReturnType<typeof isolatedTopics>;
  readonly groups: { readonly transformer: string; readonly archiver: string };
  readonly runIds: string[] = [];
  /** Runs sent into earlier incarnations of the topics (deleted and recreated since): no longer counted. */
  readonly retiredRunIds: string[] = [];
  private mainRun: string | undefined;
  private readonly members: Member[] = [];
  private readonly current = new Map<string, Member>();
  /** Instances under SIGSTOP: a SIGTERM would wait for their SIGCONT, so they are resumed first. */
  private readonly paused = new Set<string>();
  private readonly unexpectedExits: string[] = [];
  private readonly sampler: NodeJS.Timeout;

  constructor(
    readonly id: string,
    readonly mode: DeliveryMode,
    private readonly infraEnv: Record<string, string>,
    readonly rate: number,
    /** Where every incarnation's output goes, one file each. */
    readonly logDir: string,
  ) {
    this.topics = isolatedTopics(id);
    this.groups = { transformer: `${id}-transformer`, archiver: `${id}-archiver` };
    this.sampler = setInterval(() => this.sampleMemory(), 250);
  }

  private env(app: App): Record<string, string> {
    const shared = { ...this.infraEnv, ...this.topics.env, S3_BUCKET: ARCHIVE_BUCKET, LOG_LEVEL: 'warn' };
    switch (app) {
      case 'transformer':
        return {
          ...shared,
          TRANSFORMER_MODE: this.mode,
          TRANSFORMER_GROUP_ID: this.groups.transformer,
          TRANSFORMER_TRANSACTIONAL_ID_PREFIX: this.id,
        };
      case 's3-archiver':
        return { ...shared, ARCHIVER_GROUP_ID: this.groups.archiver, ARCHIVER_TOPICS_DIR: this.id, ARCHIVER_ROTATE_INTERVAL_MS: '1000' };
      case 'verifier':
        return {
          ...shared,
          VERIFIER_GROUP_ID: `${this.id}-verifier`,
          VERIFIER_ARCHIVE_TOPICS_DIR: this.id,
          VERIFIER_PROGRESS_INTERVAL_MS: '0',
          VERIFIER_AUDIT_ENABLED: 'true',
        };
      case 'weblog-generator':
        return shared;
    }
  }

  /** Starts a service (or a second generator under another name) and waits until it is ready. */
  async start(app: App, extra: Record<string, string> = {}, name: string = app): Promise<ServiceProcess> {
    mkdirSync(this.logDir, { recursive: true });
    const logFile = path.join(this.logDir, `${name}-${this.members.filter((m) => m.name === name).length + 1}.log`);
    const process = await ServiceProcess.start(app, { ...this.env(app), ...extra }, { logFile });
    const member: Member = { app, name, process };
    this.members.push(member);
    this.current.set(name, member);
    process.onUnexpectedExit(({ code }) => {
      // A second generator given a count is done when it exits 0.
      if (!(app === 'weblog-generator' && name !== app && code === 0))
        this.unexpectedExits.push(`${name} exited with ${String(code)} unasked:\n${process.logs.slice(-1500)}`);
    });
    await process.ready(120000);
    return process;
  }

  /** A generator run of its own id: `count` 0 runs until stopped. */
  async startGenerator(rate: number, count = 0, name = 'weblog-generator'): Promise<string> {
    // Numbered across incarnations of the topics, so a run id never names records of two.
    const runId =
      name === 'weblog-generator' ? `${this.id}-run${this.runIds.length + this.retiredRunIds.length + 1}` : `${this.id}-${name}`;
    this.runIds.push(runId);
    if (name === 'weblog-generator') this.mainRun = runId;
    await this.start(
      'weblog-generator',
      {
        GENERATOR_RATE: String(rate),
        GENERATOR_COUNT: String(count),
        GENERATOR_RUN_ID: runId,
        GENERATOR_EXIT_WHEN_DONE: String(count > 0),
      },
      name,
    );
    return runId;
  }

  async startPipeline(): Promise<void> {
    await Promise.all((['verifier', 's3-archiver', 'transformer'] as const).map((app) => this.start(app)));
    await this.startGenerator(this.rate);
  }

  /**
   * Scale-out: one more instance of a service in the same group, with its own name
   * (`transformer-2`, ...), port and log. Resolves with its name once it is ready.
   */
  async startInstance(app: Exclude<App, 'weblog-generator'>): Promise<string> {
    const taken = new Set(this.members.filter((m) => m.app === app).map((m) => m.name));
    let n = 1;
    while (taken.has(n === 1 ? app : `${app}-${n}`)) n++;
    const name = n === 1 ? app : `${app}-${n}`;
    await this.start(app, {}, name);
    return name;
  }

  /** Names of the running instances of a service. */
  instances(app: App): string[] {
    return [...this.current.values()].filter((m) => m.app === app && m.process.running).map((m) => m.name);
  }

  /** SIGSTOP: the instance hangs (a long GC pause, a frozen VM), keeping its sockets, until resume(). */
  pause(name: string): void {
    this.paused.add(name);
    this.service(name).pause();
  }

  resume(name: string): void {
    this.paused.delete(name);
    this.service(name).resume();
  }

  /**
   * The topics were deleted and recreated: the runs sent so far belong to their earlier
   * incarnation, and only runs started from now on are counted. Returns the retired runs.
   */
  retireRuns(): string[] {
    const retired = this.runIds.splice(0);
    this.retiredRunIds.push(...retired);
    return retired;
  }

  service(name: string): ServiceProcess {
    const member = this.current.get(name);
    if (!member) throw new Error(`no ${name} in this fleet`);
    return member.process;
  }

  /** The generator run that is sending now. */
  get currentRun(): string {
    if (!this.mainRun) throw new Error('no generator run started');
    return this.mainRun;
  }

  /** SIGKILL: the crash. */
  async kill(name: string): Promise<void> {
    const member = this.current.get(name);
    if (!member) return;
    await member.process.kill();
  }

  /** SIGTERM, as an orchestrator stops a pod: resolves with the exit code. */
  async stop(name: string): Promise<number | null> {
    const member = this.current.get(name);
    if (!member) return null;
    return member.process.stop(60000);
  }

  /** Starts a service again as it was configured (a generator restarts as a new run). */
  async restart(app: App): Promise<void> {
    if (app === 'weblog-generator') await this.startGenerator(this.rate);
    else await this.start(app);
  }

  /** Records acknowledged so far by a generator. */
  async acknowledged(name = 'weblog-generator'): Promise<number> {
    return metricValue((await this.service(name).get('/metrics')).text, 'weblog_generator_records_acknowledged_total');
  }

  async report(): Promise<VerificationReport> {
    return parseVerificationReport((await this.service('verifier').get('/report')).text);
  }

  /** Waits until the verifier has seen a sequence above `seq` of a run: records flow end to end. */
  async flowingPast(runId: string, seq: number, timeoutMs: number): Promise<void> {
    await eventually(
      async () => {
        const run = (await this.report()).runs.find((r) => r.runId === runId);
        return run && run.expected > seq ? true : undefined;
      },
      timeoutMs,
      100,
    );
  }

  /**
   * Time from `since` until the pipeline is whole again: records sent after this call reach the
   * verifier, and the archiver has committed (so uploaded) everything in the output topic now.
   */
  async recovered(admin: HighWatermarkAdmin, since: number, timeoutMs = 180000): Promise<number> {
    const run = this.currentRun;
    const seq = await eventually(() => this.acknowledged(), timeoutMs);
    // Just after a broker restart the partitions may still be electing leaders: ask until it answers.
    const ends = await eventually(() => admin.fetchTopicOffsets(this.topics.output), timeoutMs);
    let committed = new Map<number, number>();
    const named = (what: () => string) => (error: unknown) => {
      throw new Error(`${what()}: ${error instanceof Error ? error.message : String(error)}`);
    };
    await Promise.all([
      this.flowingPast(run, seq, timeoutMs).catch(named(() => `the verifier saw no sequence of run ${run} above ${seq}`)),
      eventually(
        async () => {
          const [result] = await admin.fetchOffsets({ groupId: this.groups.archiver, topics: [this.topics.output] });
          committed = new Map((result?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
          return ends.every((p) => (committed.get(p.partition) ?? -1) >= Number(p.high) || Number(p.high) === 0) ? true : undefined;
        },
        timeoutMs,
        100,
      ).catch(
        named(
          () =>
            `the archiver did not commit the output topic's ends (committed of end per partition: ${ends
              .map((p) => `${p.partition}: ${committed.get(p.partition) ?? 'none'} of ${p.high}`)
              .join(', ')})`,
        ),
      ),
    ]);
    return Date.now() - since;
  }

  /** The kernel's high-water mark goes with the process: read it while each one runs. */
  private sampleMemory(): void {
    for (const member of this.current.values()) member.process.usage();
  }

  /** Peak resident memory of each service over all its incarnations, in MiB. */
  peakRssMiB(): Record<App, number> {
    this.sampleMemory();
    const peak = (app: App) => Math.max(0, ...this.members.filter((m) => m.app === app).map((m) => m.process.usage().peakRssBytes));
    return Object.fromEntries(APPS.map((app) => [app, Math.round(peak(app) / (1024 * 1024))])) as Record<App, number>;
  }

  /** Exits nobody asked for: a service that needs a manual restart. */
  get crashes(): readonly string[] {
    return this.unexpectedExits;
  }

  /** Stops every service still running (SIGTERM), the generator first. */
  async shutdown(): Promise<void> {
    for (const name of [...this.paused]) this.resume(name);
    this.sampleMemory();
    clearInterval(this.sampler);
    const running = [...this.current.entries()].filter(([, m]) => m.process.running);
    for (const [name] of running.filter(([, m]) => m.app === 'weblog-generator')) await this.stop(name);
    await Promise.all(running.filter(([, m]) => m.app !== 'weblog-generator').map(([name]) => this.stop(name)));
  }

  /** Every process that may still run, for a test's cleanup. */
  async killAll(): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all(this.members.map((m) => m.process.kill()));
  }
}
