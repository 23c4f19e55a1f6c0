// kafkajs drops the records of aborted transactions itself, before a read-committed consumer sees
// a batch. These cases hold its filter to what the broker sends when several transactional
// producers write one partition, as the transformer's (one per input partition) do.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages') as (input: {
  messages: Message[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Message[];

interface Message {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const ABORT_KEY = Buffer.from([0, 0, 0, 0]);
const COMMIT_KEY = Buffer.from([0, 0, 0, 1]);
const data = (offset: number, producerId: string): Message => ({
  offset: String(offset),
  key: Buffer.from('k'),
  isControlRecord: false,
  batchContext: { producerId, inTransaction: true },
});
const marker = (offset: number, producerId: string, key: Buffer): Message => ({
  offset: String(offset),
  key,
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const kept = (messages: Message[], abortedTransactions: { producerId: string; firstOffset: string }[]) =>
  filterAbortedMessages({ messages, abortedTransactions })
    .filter((m) => !m.isControlRecord)
    .map((m) => `${m.batchContext.producerId}@${m.offset}`);

describe('read committed with several transactional producers in one partition', () => {
  it('drops an aborted transaction that began before one listed ahead of it', () => {
    // The broker lists aborted transactions in the order of their abort markers, so B (first
    // offset 5, aborted last) comes after A (first offset 10).
    const messages = [
      data(5, 'B'),
      data(10, 'A'),
      data(11, 'B'),
      data(12, 'C'),
      marker(20, 'A', ABORT_KEY),
      marker(30, 'B', ABORT_KEY),
      marker(31, 'C', COMMIT_KEY),
    ];
    expect(
      kept(messages, [
        { producerId: 'A', firstOffset: '10' },
        { producerId: 'B', firstOffset: '5' },
      ]),
    ).toEqual(['C@12']);
  });

  it('drops every aborted transaction already open where the fetch starts', () => {
    const messages = [
      data(8, 'B'),
      data(9, 'A'),
      data(10, 'C'),
      marker(11, 'A', ABORT_KEY),
      marker(12, 'B', ABORT_KEY),
      marker(13, 'C', COMMIT_KEY),
    ];
    expect(
      kept(messages, [
        { producerId: 'A', firstOffset: '2' },
        { producerId: 'B', firstOffset: '3' },
      ]),
    ).toEqual(['C@10']);
  });

  it('keeps a committed transaction of the same producer after its aborted one', () => {
    const messages = [data(1, 'A'), marker(2, 'A', ABORT_KEY), data(3, 'A'), marker(4, 'A', COMMIT_KEY)];
    expect(kept(messages, [{ producerId: 'A', firstOffset: '1' }])).toEqual(['A@3']);
  });
});
