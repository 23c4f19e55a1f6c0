import { KafkaMessage } from 'kafkajs';
import { DecodeFailure, headerText, PipelineHeaders } from '@weblog/kafka-common';
import { aWebLog, badWebLogRecords } from '@weblog/kafka-common/testing';
import { OUTPUT_CONTRACT_VIOLATION, transformBatch } from './transform-batch';

function message(value: Buffer | null, offset: number, headers: KafkaMessage['headers'] = {}): KafkaMessage {
  return {
    key: Buffer.from(`key-${offset}`),
    value,
    offset: String(offset),
    headers,
    timestamp: '0',
    attributes: 0,
    size: 0,
  } as unknown as KafkaMessage;
}

describe('transformBatch', () => {
  it('upper-cases every string field, keeps numbers, keys and order', () => {
    const logs = [aWebLog({ url: '/a?q=x', ip: '2001:db8::ab' }), aWebLog({ method: 'POST', status_code: 404 })];
    const { outputs, rejected } = transformBatch(
      logs.map((l, i) => message(Buffer.from(JSON.stringify(l)), i)),
      1234,
      65536,
    );
    expect(rejected).toEqual([]);
    expect(outputs.map((o) => o.key?.toString())).toEqual(['key-0', 'key-1']);
    expect(outputs[0]?.value).toEqual({
      ...logs[0],
      event_id: logs[0]?.event_id.toUpperCase(),
      ip: '2001:DB8::AB',
      url: '/A?Q=X',
      user_agent: logs[0]?.user_agent.toUpperCase(),
    });
    expect(outputs[1]?.value.status_code).toBe(404);
  });

  it('keeps the original headers and adds its own time', () => {
    const headers = { [PipelineHeaders.runId]: Buffer.from('run-1'), [PipelineHeaders.sequence]: Buffer.from('9') };
    const { outputs } = transformBatch([message(Buffer.from(JSON.stringify(aWebLog())), 0, headers)], 5555, 65536);
    expect(headerText(outputs[0]?.headers, PipelineHeaders.runId)).toBe('run-1');
    expect(headerText(outputs[0]?.headers, PipelineHeaders.sequence)).toBe('9');
    expect(headerText(outputs[0]?.headers, PipelineHeaders.transformedAt)).toBe('5555');
  });

  it('rejects every bad record with its reason while the good ones around it go through', () => {
    const bad = badWebLogRecords();
    const messages = bad.flatMap((b, i) => [message(Buffer.from(JSON.stringify(aWebLog())), 2 * i), message(b.value, 2 * i + 1)]);
    const { outputs, rejected } = transformBatch(messages, 0, 65536);
    expect(outputs).toHaveLength(bad.length);
    expect(rejected.map((r) => r.failure.reason)).toEqual(bad.map((b) => b.reason));
    expect(rejected.map((r) => r.message.offset)).toEqual(bad.map((_, i) => String(2 * i + 1)));
  });

  it('rejects a record whose upper-cased form breaks the output contract', () => {
    const log = aWebLog({ user_agent: 'ß'.repeat(600) });
    const { outputs, rejected } = transformBatch([message(Buffer.from(JSON.stringify(log)), 0)], 0, 65536);
    expect(outputs).toEqual([]);
    expect(rejected[0]?.failure.reason).toBe(OUTPUT_CONTRACT_VIOLATION);
  });

  it('rejects values above the byte limit as oversize', () => {
    const { rejected } = transformBatch([message(Buffer.from(JSON.stringify(aWebLog())), 0)], 0, 10);
    expect(rejected[0]?.failure.reason).toBe(DecodeFailure.oversize);
  });
});
