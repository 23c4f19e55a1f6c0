import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

/** The figures every consumer gets from its transport, under the service's prefix. */
export class TransportMetrics {
  readonly consumed: Counter;
  readonly batchSize: Histogram;
  readonly batchSeconds: Histogram;
  readonly failures: Counter;
  readonly commits: Counter<'mode'>;
  readonly commitsRefused: Counter;
  readonly commitFailures: Counter;
  readonly deadLettered: Counter<'reason'>;
  readonly transactions: Counter<'outcome'>;
  readonly hangingTransactions: Counter;

  constructor(metrics: MetricsService) {
    this.consumed = metrics.counter({ name: 'records_consumed_total', help: 'Records handed to the handler.' });
    this.batchSize = metrics.histogram({
      name: 'batch_size_records',
      help: 'Records per consumed batch.',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    });
    this.batchSeconds = metrics.histogram({
      name: 'batch_processing_seconds',
      help: 'Time from receiving a batch to its results being acknowledged (or taken, in deferred mode).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.failures = metrics.counter({ name: 'batch_failures_total', help: 'Batches that failed and will be fetched again.' });
    this.commits = metrics.counter({
      name: 'offset_commits_total',
      help: 'Offset commits, by how they were made (consumer, transaction).',
      labelNames: ['mode'],
    });
    this.commitsRefused = metrics.counter({
      name: 'offset_commits_refused_total',
      help: 'Commits not made because the partition was revoked meanwhile.',
    });
    this.commitFailures = metrics.counter({
      name: 'offset_commit_failures_total',
      help: "Consumer commits the broker did not take (the partition's next commit covers them).",
    });
    this.deadLettered = metrics.counter({
      name: 'records_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by reason.',
      labelNames: ['reason'],
    });
    this.transactions = metrics.counter({
      name: 'transactions_total',
      help: 'Transactions (exactly-once), by outcome: committed, aborted, or unknown (a commit sent and never answered).',
      labelNames: ['outcome'],
    });
    this.hangingTransactions = metrics.counter({
      name: 'hanging_transactions_total',
      help: 'Resyncs that found the group offset held by our own transaction the broker completed without its markers, and continued after it.',
    });
  }
}
