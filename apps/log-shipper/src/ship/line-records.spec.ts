import { DeadLetterHeaders, PipelineHeaders } from '@weblog/kafka-common';
import { parseCombinedLine } from '../parse/combined-log';
import { lineRecords } from './line-records';

const line = (text: string | Buffer, start: number, oversize = false) => ({
  text: Buffer.isBuffer(text) ? text : Buffer.from(text),
  start,
  oversize,
});
const good = (ip: string) => `${ip} - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua"`;

describe('lineRecords', () => {
  it('keys web logs by ip, numbers every line (refused ones too) and dead-letters the raw line with its reason', () => {
    const built = lineRecords(
      [
        line(good('10.0.0.1'), 0),
        line('garbage', 60),
        line(good('10.0.0.2').replace('"ua"', '"\\x07bell"'), 68),
        line(Buffer.from([0xff, 0xfe]), 130),
        line('x'.repeat(10), 140, true),
      ],
      { path: '/logs/a.log', runId: 'ship:1-2-abc', sequenceBefore: 41, shipperId: 'ship' },
      parseCombinedLine,
      1000,
    );
    expect(built.records.map((r) => [r.key, r.headers?.[PipelineHeaders.sequence], r.headers?.[PipelineHeaders.runId]])).toEqual([
      ['10.0.0.1', '42', 'ship:1-2-abc'],
    ]);
    expect(built.rejected).toEqual(['unparseable-line', 'contract-violation', 'unparseable-line', 'unparseable-line']);
    const [first] = built.deadLetters;
    expect(first?.value).toEqual(Buffer.from('garbage'));
    expect(first?.headers).toMatchObject({
      [PipelineHeaders.sequence]: '43',
      [DeadLetterHeaders.reason]: 'unparseable-line',
      [DeadLetterHeaders.detail]: 'not a combined log line',
      [DeadLetterHeaders.sourceTopic]: 'file:/logs/a.log',
      [DeadLetterHeaders.sourceOffset]: '60',
      [DeadLetterHeaders.consumer]: 'ship',
    });
    expect(built.deadLetters.map((d) => d.headers?.[PipelineHeaders.sequence])).toEqual(['43', '44', '45', '46']);
  });
});
