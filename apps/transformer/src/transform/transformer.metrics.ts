import { Injectable } from '@nestjs/common';
import { MetricsService, TransportObserver } from '@weblog/kafka-common';
import { Counter, Histogram } from 'prom-client';

/** The transformer's metrics; also the transport's observer, so batch and commit figures come from one place. */
@Injectable()
export class TransformerMetrics implements TransportObserver {
  readonly consumed: Counter;
  readonly transformed: Counter;
  readonly deadLetteredRecords: Counter<'reason'>;
  readonly commits: Counter<'mode'>;
  readonly transactions: Counter<'outcome'>;
  private readonly batchSize: Histogram;
  private readonly batchSeconds: Histogram;
  private readonly failures: Counter;

  constructor(metrics: MetricsService) {
    this.consumed = metrics.counter({ name: 'records_consumed_total', help: 'Records read from the input topic.' });
    this.transformed = metrics.counter({
      name: 'records_transformed_total',
      help: 'Records upper-cased and acknowledged on the output topic.',
    });
    this.deadLetteredRecords = metrics.counter({
      name: 'records_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by reason.',
      labelNames: ['reason'],
    });
    this.commits = metrics.counter({ name: 'offset_commits_total', help: 'Offset commits, by how they were made.', labelNames: ['mode'] });
    this.transactions = metrics.counter({
      name: 'transactions_total',
      help: 'Transactions (exactly-once), by outcome.',
      labelNames: ['outcome'],
    });
    this.batchSize = metrics.histogram({
      name: 'batch_size_records',
      help: 'Records per consumed batch.',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    });
    this.batchSeconds = metrics.histogram({
      name: 'batch_processing_seconds',
      help: 'Time from receiving a batch to its output being acknowledged.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.failures = metrics.counter({ name: 'batch_failures_total', help: 'Batches that failed and will be retried.' });
  }

  batchStarted(_topic: string, _partition: number, size: number): void {
    this.consumed.inc(size);
    this.batchSize.observe(size);
  }

  batchFinished(_topic: string, _partition: number, _size: number, seconds: number): void {
    this.batchSeconds.observe(seconds);
  }

  batchFailed(): void {
    this.failures.inc();
  }

  committed(): void {
    this.commits.inc({ mode: 'consumer' });
  }
}
