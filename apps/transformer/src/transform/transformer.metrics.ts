import { Injectable } from '@nestjs/common';
import { BatchResult, MetricsService, TransportObserver } from '@weblog/kafka-common';
import { Counter, Gauge } from 'prom-client';

/** Where a batch's records were decoded, checked, upper-cased and encoded. */
export type TransformPath = 'thread' | 'main';

/** The transformer's own figures; batches, commits, transactions and dead letters come from its transport. */
@Injectable()
export class TransformerMetrics implements TransportObserver {
  readonly transformed: Counter;
  /** Batches by the thread that transformed them, so an operator sees whether the transform threads carry the work. */
  readonly batchesByPath: Counter<'path'>;
  private threadsRunning: () => number = () => 0;

  constructor(metrics: MetricsService) {
    this.transformed = metrics.counter({
      name: 'records_transformed_total',
      help: 'Records upper-cased and acknowledged on the output topic.',
    });
    this.batchesByPath = metrics.counter({
      name: 'transform_batches_total',
      help: 'Batches transformed, by path: in a transform thread, or on the main thread (no threads, or a batch under TRANSFORMER_THREAD_MIN_BATCH).',
      labelNames: ['path'],
    });
    for (const path of ['thread', 'main'] satisfies TransformPath[]) this.batchesByPath.inc({ path }, 0);
    const running = () => this.threadsRunning();
    metrics.gauge({
      name: 'transform_threads_running',
      help: 'Transform threads running: each starts with the first batch of TRANSFORMER_THREAD_MIN_BATCH or more that goes to it.',
      collect(this: Gauge) {
        this.set(running());
      },
    });
  }

  /** Where the gauge of transform threads running reads them (none until a batch needs one). */
  watchThreads(running: () => number): void {
    this.threadsRunning = running;
  }

  batchDelivered(_topic: string, _partition: number, result: BatchResult): void {
    for (const p of result.publish ?? []) this.transformed.inc(p.records.length);
  }
}
