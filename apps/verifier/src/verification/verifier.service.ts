import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import {
  decode,
  headerNumber,
  headerText,
  KafkaBatch,
  KafkaBatchContext,
  MetricsService,
  PipelineHeaders,
  RunReport,
  TransformedWebLogContract,
  VerificationReport,
} from '@weblog/kafka-common';
import { KafkaMessage } from 'kafkajs';
import { Counter, Histogram } from 'prom-client';
import { VerifierEnv } from '../verifier.env';
import { VERIFIER_ENV } from '../verifier.tokens';
import { DeliveryMarks } from './delivery-marks';
import { RunTracker } from './run-tracker';

/**
 * The last consumer: reads the output topic (read committed), checks every record against the
 * contract, and accounts per generator run for what arrived, what is missing, what came twice or
 * out of order, and how long it took end to end.
 */
@Injectable()
export class VerifierService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Verifier');
  private readonly tracker: RunTracker;
  private readonly marks = new DeliveryMarks();
  private readonly startedAt = new Date().toISOString();
  private verified = 0;
  private invalid = 0;
  private untracked = 0;
  private redelivered = 0;
  private timer?: NodeJS.Timeout;
  private readonly received: Counter;
  private readonly redeliveries: Counter;
  private readonly invalidRecords: Counter<'reason'>;
  private readonly latency: Histogram;

  constructor(
    @Inject(VERIFIER_ENV) private readonly env: VerifierEnv,
    metrics: MetricsService,
  ) {
    this.tracker = new RunTracker(env.VERIFIER_LATENCY_WARMUP_MS);
    this.received = metrics.counter({ name: 'records_verified_total', help: 'Valid records read from the output topic.' });
    this.redeliveries = metrics.counter({
      name: 'records_redelivered_total',
      help: 'Records read again at an offset already counted (after a rejoin of the group), not counted twice.',
    });
    this.invalidRecords = metrics.counter({
      name: 'records_invalid_total',
      help: 'Records that break the TransformedWebLog contract, by reason (dead-lettered).',
      labelNames: ['reason'],
    });
    this.latency = metrics.histogram({
      name: 'end_to_end_latency_seconds',
      help: 'From the generator producing a record to the verifier reading it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    // The report of /report keeps every run; the series stop at the most recent runs, and a run
    // that falls out of them has its series dropped rather than left at its last value.
    const reports = () => this.tracker.recentReports(env.VERIFIER_METRICS_RUNS);
    const perRun = (name: string, help: string, pick: (r: RunReport) => number) =>
      metrics.gauge({
        name,
        help,
        labelNames: ['run'],
        collect() {
          this.reset();
          for (const report of reports()) this.set({ run: report.runId }, pick(report));
        },
      });
    perRun('run_expected_records', 'Highest sequence seen per run: the records the run has sent, at least.', (r) => r.expected);
    perRun('run_unique_records', 'Distinct sequences seen per run.', (r) => r.unique);
    perRun('run_missing_records', 'Sequences below the highest seen that never arrived, per run.', (r) => r.missing);
    perRun('run_duplicate_records', 'Records of a run that arrived more than once.', (r) => r.duplicates);
    perRun('run_out_of_order_records', 'Records that arrived after a later record of the same key, per run.', (r) => r.outOfOrder);
  }

  onApplicationBootstrap(): void {
    if (this.env.VERIFIER_PROGRESS_INTERVAL_MS > 0)
      this.timer = setInterval(() => this.logger.log(this.progressLine()), this.env.VERIFIER_PROGRESS_INTERVAL_MS);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * A record at an offset already counted is a redelivery, unless its run and sequence were never
   * counted: then the offsets started again (a recreated topic) and it is a new record. Judged by
   * identity, not by the log's end, which a new leader can report lower for a while.
   */
  private newToTracker(message: KafkaMessage): boolean {
    const runId = headerText(message.headers, PipelineHeaders.runId);
    const seq = headerNumber(message.headers, PipelineHeaders.sequence);
    if (runId === undefined || seq === undefined || !Number.isInteger(seq) || seq < 1) return false;
    if (this.tracker.has(runId, seq)) return false;
    return decode(TransformedWebLogContract, message.value, { maxBytes: this.env.VERIFIER_MAX_VALUE_BYTES }).ok;
  }

  async verify(batch: KafkaBatch, ctx: KafkaBatchContext): Promise<void> {
    const now = Date.now();
    const { topic, partition } = batch;
    for (const message of batch.messages) {
      if (this.marks.seen(topic, partition, message.offset) && !this.newToTracker(message)) {
        this.redelivered++;
        this.redeliveries.inc();
        continue;
      }
      await this.count(message, now, ctx);
      this.marks.counted(topic, partition, message.offset);
    }
  }

  private async count(message: KafkaMessage, now: number, ctx: KafkaBatchContext): Promise<void> {
    const decoded = decode(TransformedWebLogContract, message.value, { maxBytes: this.env.VERIFIER_MAX_VALUE_BYTES });
    if (!decoded.ok) {
      // Counted once the dead letter is acknowledged: a failed send fails the batch, and the record comes again.
      await ctx.deadLetter(message, { reason: decoded.reason, detail: decoded.detail });
      this.invalid++;
      this.invalidRecords.inc({ reason: decoded.reason });
      return;
    }
    this.verified++;
    this.received.inc();
    const runId = headerText(message.headers, PipelineHeaders.runId);
    const seq = headerNumber(message.headers, PipelineHeaders.sequence);
    if (runId === undefined || seq === undefined || !Number.isInteger(seq) || seq < 1) {
      this.untracked++;
      return;
    }
    const producedAt = headerNumber(message.headers, PipelineHeaders.producedAt);
    const timing =
      producedAt === undefined ? undefined : { producedAt, latencyMs: now - producedAt, recordTimestamp: Number(message.timestamp) };
    if (timing) this.latency.observe(timing.latencyMs / 1000);
    this.tracker.observe(runId, seq, message.key ? message.key.toString('utf8') : undefined, timing);
  }

  report(): VerificationReport {
    return {
      startedAt: this.startedAt,
      verified: this.verified,
      invalid: this.invalid,
      untracked: this.untracked,
      redelivered: this.redelivered,
      runs: this.tracker.reports(),
    };
  }

  /** One compact line: the total, then each run's missing, duplicates and latency. */
  progressLine(): string {
    const runs = this.tracker
      .reports()
      .map(
        (r) =>
          `run ${r.runId.slice(0, 8)}: ${r.unique}/${r.expected} missing ${r.missing} dup ${r.duplicates} ooo ${r.outOfOrder} p50 ${r.latencyMs.p50}ms p99 ${r.latencyMs.p99}ms`,
      );
    return [`verified ${this.verified} invalid ${this.invalid} redelivered ${this.redelivered}`, ...runs].join(' | ');
  }
}
