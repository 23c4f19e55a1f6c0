import { Injectable } from '@nestjs/common';
import { BatchResult, MetricsService, TransportObserver } from '@weblog/kafka-common';
import { Counter } from 'prom-client';

/** The transformer's own figure; batches, commits, transactions and dead letters come from its transport. */
@Injectable()
export class TransformerMetrics implements TransportObserver {
  readonly transformed: Counter;

  constructor(metrics: MetricsService) {
    this.transformed = metrics.counter({
      name: 'records_transformed_total',
      help: 'Records upper-cased and acknowledged on the output topic.',
    });
  }

  batchDelivered(_topic: string, _partition: number, result: BatchResult): void {
    for (const p of result.publish ?? []) this.transformed.inc(p.records.length);
  }
}
