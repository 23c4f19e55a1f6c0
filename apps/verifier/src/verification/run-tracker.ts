import { LatencySummary, RunReport } from '@weblog/kafka-common';
import { LatencyHistogram } from './latency-histogram';
import { SequenceRanges } from './sequence-ranges';

/** Keys whose last sequence is remembered, per run: enough for every client of a busy site. */
const MAX_TRACKED_KEYS = 100_000;

/** Records produced this long after a run's first are its steady state; those before, its start-up. */
export const DEFAULT_LATENCY_WARMUP_MS = 20_000;

/** When a record was produced (the generator's stamp) and how long it took to arrive here. */
export interface RecordTiming {
  readonly producedAt: number;
  readonly latencyMs: number;
  /**
   * The record's timestamp in the topic the verifier reads, when the latency is to be split there:
   * set by whoever wrote the record to that topic (our transformer: its send; Kafka Streams: the
   * input record's, the generator's send).
   */
  readonly recordTimestamp?: number;
}

function summary(histogram: LatencyHistogram): LatencySummary {
  return {
    count: histogram.count,
    p50: round(histogram.quantile(0.5)),
    p95: round(histogram.quantile(0.95)),
    p99: round(histogram.quantile(0.99)),
    max: round(histogram.max),
  };
}

class Run {
  readonly sequences = new SequenceRanges();
  readonly latency = new LatencyHistogram();
  readonly startupLatency = new LatencyHistogram();
  readonly steadyLatency = new LatencyHistogram();
  /** The steady records' latency split at their record timestamp: the part before it, and after. */
  readonly steadyBeforeStamp = new LatencyHistogram();
  readonly steadyAfterStamp = new LatencyHistogram();
  /** The earliest produce stamp seen: the run's start, on the generator's clock. */
  private firstProducedAt = Infinity;
  readonly lastByKey = new Map<string, number>();
  received = 0;
  duplicates = 0;
  outOfOrder = 0;
  /** When a record of this run last arrived, on the tracker's own clock. */
  lastSeen = 0;

  constructor(
    readonly runId: string,
    private readonly warmupMs: number,
  ) {}

  observe(seq: number, key: string | undefined, timing: RecordTiming | undefined): void {
    this.received++;
    if (timing) {
      this.latency.record(timing.latencyMs);
      // Partitions arrive in any order, so the start is the earliest stamp seen yet; only records
      // of the first moments can be judged against a start that later moves earlier.
      this.firstProducedAt = Math.min(this.firstProducedAt, timing.producedAt);
      const steady = timing.producedAt - this.firstProducedAt >= this.warmupMs;
      (steady ? this.steadyLatency : this.startupLatency).record(timing.latencyMs);
      if (steady && timing.recordTimestamp !== undefined && timing.recordTimestamp >= 0) {
        // One clock, but milliseconds apart stamps can still cross by a rounding: never below 0.
        const before = Math.min(Math.max(timing.recordTimestamp - timing.producedAt, 0), timing.latencyMs);
        this.steadyBeforeStamp.record(before);
        this.steadyAfterStamp.record(timing.latencyMs - before);
      }
    }
    if (!this.sequences.add(seq)) {
      this.duplicates++;
      return;
    }
    // Kafka orders records per partition, and only a key keeps a client's records on one
    // partition: keyless records promise no order, so none is judged.
    if (key === undefined) return;
    const last = this.lastByKey.get(key);
    if (last !== undefined && seq < last) this.outOfOrder++;
    // Re-inserting keeps the map in least-recently-seen order, so eviction drops the idlest key.
    this.lastByKey.delete(key);
    this.lastByKey.set(key, Math.max(seq, last ?? 0));
    if (this.lastByKey.size > MAX_TRACKED_KEYS) {
      const oldest = this.lastByKey.keys().next();
      if (!oldest.done) this.lastByKey.delete(oldest.value);
    }
  }

  report(): RunReport {
    const unique = this.sequences.size;
    return {
      runId: this.runId,
      expected: this.sequences.highest,
      received: this.received,
      unique,
      missing: this.sequences.missingCount(),
      missingRanges: this.sequences.gaps(),
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      latencyMs: summary(this.latency),
      latencyWarmupMs: this.warmupMs,
      startupLatencyMs: summary(this.startupLatency),
      steadyLatencyMs: summary(this.steadyLatency),
      steadyBeforeRecordTimestampMs: summary(this.steadyBeforeStamp),
      steadyAfterRecordTimestampMs: summary(this.steadyAfterStamp),
    };
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * What the verifier knows per generator run: sequences seen (as ranges), duplicates, records that
 * arrived behind a later record of the same key (keyed records only), and end-to-end latency, as a
 * whole and split into the run's start-up (records produced in its first `warmupMs`) and its
 * steady state.
 */
export class RunTracker {
  private readonly runs = new Map<string, Run>();
  private clock = 0;

  constructor(private readonly warmupMs = DEFAULT_LATENCY_WARMUP_MS) {}

  /** `key` is the record's Kafka key, undefined when it has none; `timing` when it was stamped. */
  observe(runId: string, seq: number, key: string | undefined, timing?: RecordTiming): void {
    let run = this.runs.get(runId);
    if (!run) {
      run = new Run(runId, this.warmupMs);
      this.runs.set(runId, run);
    }
    run.lastSeen = ++this.clock;
    run.observe(seq, key, timing);
  }

  /** True when this run's sequence was counted already. */
  has(runId: string, seq: number): boolean {
    return this.runs.get(runId)?.sequences.has(seq) ?? false;
  }

  reports(): RunReport[] {
    return [...this.runs.values()].map((run) => run.report());
  }

  /** The `limit` runs that received a record most recently, newest first. */
  recentReports(limit: number): RunReport[] {
    return [...this.runs.values()]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, limit)
      .map((run) => run.report());
  }
}
