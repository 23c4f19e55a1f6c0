import { KafkaMessage } from 'kafkajs';
import { DeadLetterHeaders } from '../contracts/headers';
import { deadLetterMessage } from './dead-letter';

describe('deadLetterMessage', () => {
  it('keeps key, value and headers unchanged and adds where it came from and why', () => {
    const value = Buffer.from([0xc3, 0x28]);
    const message = {
      key: Buffer.from('10.0.0.1'),
      value,
      headers: { 'weblog-seq': Buffer.from('7') },
      offset: '41',
    } as unknown as KafkaMessage;
    const letter = deadLetterMessage(
      { topic: 'input-topic', partition: 2, message },
      { reason: 'invalid-utf8', detail: 'value is not valid UTF-8' },
      'transformer',
      1000,
    );
    expect(letter.value).toBe(value);
    expect(letter.key).toEqual(Buffer.from('10.0.0.1'));
    expect(letter.headers).toMatchObject({
      'weblog-seq': Buffer.from('7'),
      [DeadLetterHeaders.sourceTopic]: 'input-topic',
      [DeadLetterHeaders.sourcePartition]: '2',
      [DeadLetterHeaders.sourceOffset]: '41',
      [DeadLetterHeaders.consumer]: 'transformer',
      [DeadLetterHeaders.reason]: 'invalid-utf8',
      [DeadLetterHeaders.failedAt]: '1000',
    });
  });
});
