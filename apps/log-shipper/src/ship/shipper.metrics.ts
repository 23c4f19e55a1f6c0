import { Injectable } from '@nestjs/common';
import { MetricsService } from '@weblog/kafka-common';
import { Counter, Gauge } from 'prom-client';

/** The shipper's metrics (`weblog_log_shipper_*`); counted when a transaction commits, never before. */
@Injectable()
export class ShipperMetrics {
  readonly linesRead: Counter;
  readonly linesShipped: Counter;
  readonly linesRejected: Counter<'reason'>;
  readonly bytesBehind: Gauge<'file'>;
  readonly transactions: Counter<'outcome'>;

  constructor(metrics: MetricsService) {
    this.linesRead = metrics.counter({
      name: 'lines_read_total',
      help: 'Whole lines read from files and committed (shipped or rejected).',
    });
    this.linesShipped = metrics.counter({ name: 'lines_shipped_total', help: 'Lines committed to the input topic as web logs.' });
    this.linesRejected = metrics.counter({
      name: 'lines_rejected_total',
      help: 'Lines committed to the dead-letter topic, by reason.',
      labelNames: ['reason'],
    });
    this.bytesBehind = metrics.gauge({
      name: 'bytes_behind',
      help: 'Bytes between the committed position and the end of each file.',
      labelNames: ['file'],
    });
    this.transactions = metrics.counter({ name: 'transactions_total', help: 'Transactions, by outcome.', labelNames: ['outcome'] });
  }
}
