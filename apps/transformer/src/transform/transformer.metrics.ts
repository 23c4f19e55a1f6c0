import { Injectable } from '@nestjs/common';
import { BatchResult, MetricsService, TransportObserver } from '@weblog/kafka-common';
import { Counter } from 'prom-client';

/** Where a batch's records were decoded, checked, upper-cased and encoded. */
export type TransformPath = 'thread' | 'main';

/** The transformer's own figures; batches, commits, transactions and dead letters come from its transport. */
@Injectable()
export class TransformerMetrics implements TransportObserver {
  readonly transformed: Counter;
  /** Batches by the thread that transformed them, so an operator sees whether the transform threads carry the work. */
  readonly batchesByPath: Counter<'path'>;

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
  }

  batchDelivered(_topic: string, _partition: number, result: BatchResult): void {
    for (const p of result.publish ?? []) this.transformed.inc(p.records.length);
  }
}
