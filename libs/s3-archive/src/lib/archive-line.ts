import { KafkaMessage } from 'kafkajs';
import { RecordHeaders, TransformedWebLog } from '@weblog/kafka-common';

/** A line of an archive object when record metadata is kept: enough to replay the record faithfully. */
export interface ArchivedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly value: TransformedWebLog;
}

function headerStrings(headers: RecordHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) result[name] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  }
  return result;
}

/** One JSON line: the record with its Kafka coordinates, or the bare value. */
export function archiveLine(
  topic: string,
  partition: number,
  message: KafkaMessage,
  value: TransformedWebLog,
  withMetadata: boolean,
): Buffer {
  const body = withMetadata
    ? ({
        topic,
        partition,
        offset: message.offset,
        timestamp: message.timestamp,
        key: message.key ? message.key.toString('utf8') : null,
        headers: headerStrings(message.headers),
        value,
      } satisfies ArchivedRecord)
    : value;
  return Buffer.from(`${JSON.stringify(body)}\n`, 'utf8');
}
