import { KafkaMessage } from 'kafkajs';
import { encode, OutgoingRecord, TransformedWebLogContract } from '@weblog/kafka-common';
import { BatchSource, Rejected, transformedHeaders, transformRecord, TransformOptions } from './transform-batch';

/**
 * A batch's values on their way to a transform thread: one buffer (moved, not copied, across the
 * thread boundary), and where each value ends in it. Keys and headers stay with the batch.
 */
export interface TransformJob {
  readonly id: number;
  readonly source: BatchSource;
  readonly offsets: readonly string[];
  readonly bytes: Uint8Array;
  /** Per record: its value's length in `bytes`, or -1 for a record without a value. */
  readonly lengths: Int32Array;
}

/** What a transform thread made of a job: the encoded outputs in one buffer, and the failures. */
export interface TransformReply {
  readonly id: number;
  readonly bytes: Uint8Array;
  /** Per record: the length of its encoded output in `bytes`, or -1 when it was rejected. */
  readonly lengths: Int32Array;
  readonly failures: readonly { readonly index: number; readonly reason: string; readonly detail: string }[];
}

/** A buffer of its own, never a slice of Node's shared pool: it can be moved to another thread. */
function ownBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size);
}

export function packJob(id: number, source: BatchSource, messages: readonly KafkaMessage[]): TransformJob {
  const lengths = new Int32Array(messages.length);
  let total = 0;
  messages.forEach((m, i) => {
    lengths[i] = m.value === null ? -1 : m.value.length;
    total += m.value?.length ?? 0;
  });
  const bytes = ownBuffer(total);
  let at = 0;
  for (const m of messages) if (m.value !== null) at += m.value.copy(bytes, at);
  return { id, source: { topic: source.topic, partition: source.partition }, offsets: messages.map((m) => m.offset), bytes, lengths };
}

/** In the transform thread: every record of the job through `transformRecord`, outputs encoded with the output contract. */
export function runJob(job: TransformJob, options: TransformOptions): TransformReply {
  const input = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
  const lengths = new Int32Array(job.lengths.length);
  const encoded: Buffer[] = [];
  const failures: { index: number; reason: string; detail: string }[] = [];
  let at = 0;
  let total = 0;
  for (let i = 0; i < job.lengths.length; i++) {
    const length = job.lengths[i] ?? -1;
    const value = length < 0 ? null : input.subarray(at, at + length);
    at += Math.max(length, 0);
    const outcome = transformRecord(job.source, { offset: job.offsets[i] ?? '', value }, options);
    if (outcome.ok) {
      const bytes = encode(TransformedWebLogContract, outcome.value);
      encoded.push(bytes);
      lengths[i] = bytes.length;
      total += bytes.length;
    } else {
      lengths[i] = -1;
      failures.push({ index: i, reason: outcome.failure.reason, detail: outcome.failure.detail });
    }
  }
  const bytes = ownBuffer(total);
  let out = 0;
  for (const b of encoded) out += b.copy(bytes, out);
  return { id: job.id, bytes, lengths, failures };
}

/** Back in the batch's thread: the reply as records to publish (keys and headers from the batch) and refusals. */
export function unpackReply(
  reply: TransformReply,
  messages: readonly KafkaMessage[],
  transformedAt: number,
): { outputs: OutgoingRecord<Buffer>[]; rejected: Rejected[] } {
  if (reply.lengths.length !== messages.length) {
    throw new Error(`a transform thread answered for ${reply.lengths.length} records of a batch of ${messages.length}`);
  }
  const bytes = Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
  const stamp = String(transformedAt);
  const failures = new Map(reply.failures.map((f) => [f.index, f]));
  const outputs: OutgoingRecord<Buffer>[] = [];
  const rejected: Rejected[] = [];
  let at = 0;
  messages.forEach((message, i) => {
    const length = reply.lengths[i] ?? -1;
    if (length >= 0) {
      outputs.push({ key: message.key, value: bytes.subarray(at, at + length), headers: transformedHeaders(message, stamp) });
      at += length;
      return;
    }
    const failure = failures.get(i);
    if (!failure) throw new Error(`a transform thread neither transformed nor rejected record ${i} of the batch`);
    rejected.push({ message, failure: { reason: failure.reason, detail: failure.detail } });
  });
  return { outputs, rejected };
}
