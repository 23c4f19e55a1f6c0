import { KafkaMessage } from 'kafkajs';
import { encode, PipelineHeaders, TransformedWebLogContract } from '@weblog/kafka-common';
import { aWebLog, badWebLogRecords, realWorldWebLogs } from '@weblog/kafka-common/testing';
import { transformBatch, TransformOptions } from './transform-batch';
import { packJob, runJob, TransformReply, unpackReply } from './transform-job';

const source = { topic: 'input-topic', partition: 1 };
const options: TransformOptions = { maxBytes: 65536, timeZone: 'UTC' };

function message(value: Buffer | null, offset: number): KafkaMessage {
  return {
    key: Buffer.from(`key-${offset}`),
    value,
    offset: String(offset),
    headers: { [PipelineHeaders.runId]: Buffer.from('run-1') },
    timestamp: '0',
    attributes: 0,
    size: 0,
  } as unknown as KafkaMessage;
}

/** Good and bad records interleaved: every way the path through a thread can go, in one batch. */
function mixedBatch(): KafkaMessage[] {
  const values: (Buffer | null)[] = [];
  const good = realWorldWebLogs().map((r) => Buffer.from(JSON.stringify(r.value)));
  const bad = badWebLogRecords().map((r) => r.value);
  for (let i = 0; i < Math.max(good.length, bad.length); i++) {
    if (i < good.length) values.push(good[i] ?? null);
    if (i < bad.length) values.push(bad[i] ?? null);
  }
  values.push(Buffer.from(JSON.stringify(aWebLog({ user_agent: 'straße' }))));
  return values.map((v, i) => message(v, 100 + i));
}

/** The job as the thread receives it: copied across, as postMessage does. */
const acrossThreads = <T>(value: T): T => structuredClone(value);

describe('the transform job of a thread', () => {
  it('gives what the main thread gives: the same records out, encoded, with their keys and headers, and the same refusals', () => {
    const messages = mixedBatch();
    const inThread = transformBatch(source, messages, 4321, options);
    const reply: TransformReply = acrossThreads(runJob(acrossThreads(packJob(7, source, messages)), options));
    expect(reply.id).toBe(7);
    const { outputs, rejected } = unpackReply(reply, messages, 4321);
    expect(outputs.map((o) => o.value.toString('utf8'))).toEqual(
      inThread.outputs.map((o) => encode(TransformedWebLogContract, o.value).toString('utf8')),
    );
    expect(outputs.map((o) => [o.key, o.headers])).toEqual(inThread.outputs.map((o) => [o.key, o.headers]));
    expect(rejected).toEqual(inThread.rejected);
    // Both kinds are there, and a value of the input does not leak into the output unchanged.
    expect(outputs.length).toBeGreaterThan(3);
    expect(rejected.length).toBeGreaterThan(3);
  });

  it('packs null, empty and non-ASCII values apart, each to its own length', () => {
    const messages = [message(null, 0), message(Buffer.alloc(0), 1), message(Buffer.from('{"ü":1}'), 2)];
    const job = packJob(1, source, messages);
    expect(Array.from(job.lengths)).toEqual([-1, 0, Buffer.byteLength('{"ü":1}')]);
    expect(Buffer.from(job.bytes).toString('utf8')).toBe('{"ü":1}');
    expect(job.offsets).toEqual(['0', '1', '2']);
  });

  it('refuses a reply that does not account for every record', () => {
    const messages = [message(Buffer.from(JSON.stringify(aWebLog())), 0), message(null, 1)];
    const reply = runJob(packJob(1, source, messages), options);
    expect(() => unpackReply(reply, messages.slice(0, 1), 0)).toThrow('answered for 2 records of a batch of 1');
    expect(() => unpackReply({ ...reply, failures: [] }, messages, 0)).toThrow('neither transformed nor rejected record 1');
  });
});
