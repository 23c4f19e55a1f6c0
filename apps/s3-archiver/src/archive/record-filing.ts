import { KafkaMessage } from 'kafkajs';
import { decode, DeadLetterReason, TransformedWebLog, TransformedWebLogContract } from '@weblog/kafka-common';
import { archiveLine, TimePartitioner } from '@weblog/s3-archive';
import { ArchiverEnv } from '../archiver.env';

/** What the archive makes of one record: its line and its time partition, or why it refuses it. */
export type FiledRecord =
  | { readonly ok: true; readonly line: Buffer; readonly timePath: string }
  | { readonly ok: false; readonly failure: DeadLetterReason };

/** Decodes a record and finds where it is filed, per the archiver's configuration. */
export class RecordFiling {
  private readonly partitioner?: TimePartitioner;

  constructor(private readonly env: ArchiverEnv) {
    if (env.ARCHIVER_KEY_LAYOUT === 'time')
      this.partitioner = new TimePartitioner({
        pathFormat: env.ARCHIVER_PATH_FORMAT,
        durationMs: env.ARCHIVER_PARTITION_DURATION_MS,
        timeZone: env.ARCHIVER_TIMEZONE,
        locale: env.ARCHIVER_LOCALE,
      });
  }

  /** True when a record read again after a crash may be filed elsewhere than the first time. */
  get filesByArrival(): boolean {
    return this.partitioner !== undefined && this.env.ARCHIVER_TIMESTAMP_EXTRACTOR === 'Wallclock';
  }

  file(topic: string, partition: number, message: KafkaMessage): FiledRecord {
    const decoded = decode(TransformedWebLogContract, message.value, { maxBytes: this.env.ARCHIVER_MAX_VALUE_BYTES });
    if (!decoded.ok) return { ok: false, failure: { reason: decoded.reason, detail: decoded.detail } };
    return {
      ok: true,
      line: archiveLine(topic, partition, message, decoded.value, this.env.ARCHIVER_RECORD_METADATA),
      timePath: this.partitioner?.path(this.recordTime(decoded.value, Number(message.timestamp))) ?? '',
    };
  }

  /** The time a record is partitioned by, per ARCHIVER_TIMESTAMP_EXTRACTOR. */
  private recordTime(value: TransformedWebLog, kafkaTimestamp: number): number {
    switch (this.env.ARCHIVER_TIMESTAMP_EXTRACTOR) {
      case 'Record':
        return kafkaTimestamp;
      case 'Wallclock':
        return Date.now();
      default:
        // Both field names read the instant in UTC; the digits below milliseconds cannot move an hour.
        return Date.parse(`${value.timestamp_utc.slice(0, 23)}Z`);
    }
  }
}
