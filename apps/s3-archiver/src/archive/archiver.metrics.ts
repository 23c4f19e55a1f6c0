import { Injectable } from '@nestjs/common';
import { MetricsService } from '@weblog/kafka-common';
import { Counter, Histogram } from 'prom-client';
import { FlushReason } from './flush-policy';

export interface BufferSnapshot {
  readonly partition: number;
  readonly records: number;
  readonly bytes: number;
  readonly oldestRecordTime: number | undefined;
}

/**
 * The archiver's own metrics (records consumed, dead letters and commits come from its
 * transport); buffer gauges are read from the live buffers at scrape time.
 */
@Injectable()
export class ArchiverMetrics {
  readonly archived: Counter;
  readonly objects: Counter;
  readonly bytesUploaded: Counter;
  readonly uploadSeconds: Histogram;
  readonly uploadFailures: Counter;
  readonly conflicts: Counter;
  readonly flushes: Counter<'reason'>;
  private snapshot: () => BufferSnapshot[] = () => [];

  constructor(metrics: MetricsService) {
    this.archived = metrics.counter({ name: 'records_archived_total', help: 'Records written to S3 by this instance.' });
    this.objects = metrics.counter({ name: 'objects_uploaded_total', help: 'Archive objects written to S3.' });
    this.bytesUploaded = metrics.counter({ name: 'uploaded_bytes_total', help: 'Bytes of archive objects written to S3.' });
    this.uploadSeconds = metrics.histogram({
      name: 'upload_duration_seconds',
      help: 'Time of one conditional PutObject.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.uploadFailures = metrics.counter({ name: 'upload_retries_total', help: 'Uploads that failed and will be retried.' });
    this.conflicts = metrics.counter({
      name: 'conditional_write_conflicts_total',
      help: 'Uploads whose key already existed (a crash or a second writer got there first).',
    });
    this.flushes = metrics.counter({ name: 'flushes_total', help: 'Buffers written, by what triggered them.', labelNames: ['reason'] });
    const snapshot = () => this.snapshot();
    metrics.gauge({
      name: 'buffered_records',
      help: 'Records waiting in buffers.',
      collect() {
        this.set(snapshot().reduce((sum, b) => sum + b.records, 0));
      },
    });
    metrics.gauge({
      name: 'buffered_bytes',
      help: 'Bytes waiting in buffers, all partitions.',
      collect() {
        this.set(snapshot().reduce((sum, b) => sum + b.bytes, 0));
      },
    });
    metrics.gauge({
      name: 'oldest_unarchived_record_age_seconds',
      help: 'Age of the oldest record not yet in S3, by partition (0 when nothing waits).',
      labelNames: ['partition'],
      collect() {
        this.reset();
        const now = Date.now();
        for (const b of snapshot())
          this.set(
            { partition: String(b.partition) },
            b.oldestRecordTime === undefined ? 0 : Math.max(0, (now - b.oldestRecordTime) / 1000),
          );
      },
    });
  }

  watchBuffers(snapshot: () => BufferSnapshot[]): void {
    this.snapshot = snapshot;
  }

  flushed(reason: FlushReason): void {
    this.flushes.inc({ reason });
  }
}
