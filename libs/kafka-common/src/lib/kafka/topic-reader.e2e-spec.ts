import { KafkaMessage } from 'kafkajs';
import { createTestTopics, testKafka, uniqueName } from '../../testing';
import { highWatermarkAdmin, readTopicToEnd } from './topic-reader';

/**
 * A committed transaction's records sit above the last stable offset until its markers are
 * written, which the broker does after it has answered the commit; an older transaction still
 * open holds that offset back too. "The end when the call starts" is the high watermark: a
 * read-committed read waits for what lies below it to be decided instead of stopping short.
 */
describe('readTopicToEnd under open transactions', () => {
  const kafka = testKafka('topic-reader-e2e');

  it('reads a transaction committed before the call, though an older one is still open below it', async () => {
    const topic = uniqueName('read-to-end');
    const admin = kafka.admin();
    await admin.connect();
    await createTestTopics(admin, [topic], 1).finally(() => admin.disconnect());

    const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    const older = kafka.producer({ transactionalId: uniqueName('older'), idempotent: true, maxInFlightRequests: 1 });
    const newer = kafka.producer({ transactionalId: uniqueName('newer'), idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([plain.connect(), older.connect(), newer.connect()]);
    try {
      await plain.send({ topic, acks: -1, messages: [{ partition: 0, value: 'before' }] });
      const open = await older.transaction();
      await open.send({ topic, messages: [{ partition: 0, value: 'undecided' }] });
      const decided = await newer.transaction();
      await decided.send({
        topic,
        messages: [
          { partition: 0, value: 'committed-1' },
          { partition: 0, value: 'committed-2' },
        ],
      });
      await decided.commit();

      // kafkajs' admin reports the last stable offset, held at the open transaction (offset 1); a
      // high-watermark admin reports the end of what was written (the newer records at 2 and 3).
      const [stable, written] = [kafka.admin(), highWatermarkAdmin(kafka)];
      await Promise.all([stable.connect(), written.connect()]);
      try {
        expect((await stable.fetchTopicOffsets(topic)).map((p) => p.high)).toEqual(['1']);
        expect(Number((await written.fetchTopicOffsets(topic))[0]?.high)).toBeGreaterThanOrEqual(4);
      } finally {
        await Promise.all([stable.disconnect(), written.disconnect()]);
      }

      const read: string[] = [];
      let sawBefore: () => void = () => undefined;
      const before = new Promise<void>((resolve) => (sawBefore = resolve));
      const reading = readTopicToEnd(
        kafka,
        topic,
        (_partition: number, message: KafkaMessage) => {
          const value = message.value?.toString() ?? '';
          read.push(value);
          if (value === 'before') sawBefore();
        },
        { timeoutMs: 60000 },
      );
      // The read has reached the open transaction; only its abort lets it go further.
      await Promise.race([before, reading]);
      await open.abort();
      await reading;

      expect(read).toEqual(['before', 'committed-1', 'committed-2']);
    } finally {
      await Promise.all([plain.disconnect(), older.disconnect(), newer.disconnect()]);
    }
  });
});
