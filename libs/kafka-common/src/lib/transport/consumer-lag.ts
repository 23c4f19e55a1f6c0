import { Admin } from 'kafkajs';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** A partition's offsets as the broker reports them; `committed` is -1 where the group has none. */
export interface PartitionOffsets {
  readonly low: number;
  readonly high: number;
  readonly committed: number;
}

/**
 * Records between the group's committed offset and the end of each partition: the figure KEDA's
 * Kafka scaler acts on. A partition the group never committed counts everything still retained,
 * since our consumers start a new group at the earliest offset.
 */
export function partitionLag(offsets: PartitionOffsets): number {
  const from = offsets.committed < 0 ? offsets.low : offsets.committed;
  return Math.max(0, offsets.high - from);
}

/** Stops a broker that does not answer from holding up a scrape. */
const SCRAPE_TIMEOUT_MS = 3000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `consumer_lag_records{topic, partition}` for the partitions this instance owns, read from the
 * broker at scrape time: committed offsets (as KEDA sees them), not the position of the batch in
 * hand. Series of a partition that was revoked disappear with it. While the broker does not
 * answer, the last figures stay, so an outage does not read as "no lag".
 */
export class ConsumerLagGauge {
  private readonly gauge: Gauge<'topic' | 'partition'>;
  /** The label sets set at the last scrape, so a revoked partition's can be removed. */
  private shown: { topic: string; partition: string }[] = [];

  constructor(
    metrics: MetricsService,
    private readonly admin: () => Admin | undefined,
    private readonly groupId: string,
    private readonly assignment: () => ReadonlyMap<string, readonly number[]>,
  ) {
    const read = () => this.read();
    const show = (lags: PartitionLag[]) => {
      this.shown = lags.map(({ topic, partition }) => ({ topic, partition: String(partition) }));
    };
    this.gauge = metrics.gauge({
      name: 'consumer_lag_records',
      help: "Records after the group's committed offset, by partition this instance owns (what KEDA scales on).",
      labelNames: ['topic', 'partition'],
      async collect() {
        const lags = await read();
        if (!lags) return;
        this.reset();
        for (const { topic, partition, lag } of lags) this.set({ topic, partition: String(partition) }, lag);
        show(lags);
      },
    });
  }

  /** After a rebalance: the series of partitions this instance no longer owns go at once. */
  retain(assignment: ReadonlyMap<string, readonly number[]>): void {
    const owned = (labels: { topic: string; partition: string }) =>
      assignment.get(labels.topic)?.includes(Number(labels.partition)) ?? false;
    for (const labels of this.shown.filter((l) => !owned(l))) this.gauge.remove(labels);
    this.shown = this.shown.filter(owned);
  }

  private async read(): Promise<PartitionLag[] | undefined> {
    const admin = this.admin();
    const owned = [...this.assignment()].filter(([, partitions]) => partitions.length > 0);
    if (!admin || owned.length === 0) return [];
    try {
      const topics = owned.map(([topic]) => topic);
      const [committed, ends] = await withTimeout(
        Promise.all([
          admin.fetchOffsets({ groupId: this.groupId, topics }),
          Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) }))),
        ]),
        SCRAPE_TIMEOUT_MS,
      );
      const lags: PartitionLag[] = [];
      for (const [topic, partitions] of owned) {
        const groupOffsets = committed.find((t) => t.topic === topic)?.partitions ?? [];
        const topicEnds = ends.find((t) => t.topic === topic)?.offsets ?? [];
        for (const partition of partitions) {
          const end = topicEnds.find((o) => o.partition === partition);
          if (!end) continue;
          const offset = groupOffsets.find((o) => o.partition === partition)?.offset ?? '-1';
          lags.push({ topic, partition, lag: partitionLag({ low: Number(end.low), high: Number(end.high), committed: Number(offset) }) });
        }
      }
      return lags;
    } catch {
      return undefined;
    }
  }
}
