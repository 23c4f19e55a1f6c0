import { KafkaMessage } from 'kafkajs';
import { DeadLetterHeaders, deriveEventId, PipelineHeaders } from '@weblog/kafka-common';
import { aWebLog, GeneratedWebLog } from '@weblog/kafka-common/testing';
import { BAD_KIND_HEADER, LedgerTally } from './ledger';

const INPUT = 'scenario-input';
const kinds = [
  { name: 'JSON null', reason: 'not-an-object' },
  { name: 'truncated JSON', reason: 'invalid-json' },
];

let offset = 0;
function message(value: Buffer | null, headers: Record<string, string> = {}): KafkaMessage {
  return { key: null, value, headers, offset: String(offset++), timestamp: '0', attributes: 0 };
}
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const upper = (log: GeneratedWebLog) => ({
  ...log,
  event_id: log.event_id.toUpperCase(),
  url: log.url.toUpperCase(),
  user_agent: log.user_agent.toUpperCase(),
  timestamp_utc: '2026-11-23T10:15:30.123Z',
});
const deadLetter = (kind: number, reason: string, source = INPUT) =>
  message(json(null), { [BAD_KIND_HEADER]: String(kind), [DeadLetterHeaders.sourceTopic]: source, [DeadLetterHeaders.reason]: reason });

describe('LedgerTally', () => {
  const logs = [aWebLog(), aWebLog({ url: "/q?x=1' OR '1'='1" }), aWebLog()] as const;

  function tally(sent = [0, 0]): LedgerTally {
    const t = new LedgerTally(INPUT, { kinds, sent });
    for (const log of logs) t.input(message(json(log)));
    return t;
  }

  it('balances when every input arrived once, upper-cased', () => {
    const t = tally();
    for (const [partition, log] of logs.entries()) {
      const out = message(json(upper(log)));
      t.output(out, partition);
      t.archived({ partition, offset: out.offset, eventId: upper(log).event_id, runId: 'run1' });
    }
    expect(t.ledger()).toEqual({
      generated: 3,
      resentByProducers: 0,
      neverWritten: 0,
      missing: 0,
      duplicatedOutput: 0,
      altered: 0,
      unexpectedOutput: 0,
      deadLettered: 0,
      badSent: 0,
      badMisfiled: [],
      missingInS3: 0,
      duplicatedInS3: 0,
      unexpectedInS3: 0,
      earlierIncarnationInS3: 0,
      archiveProblems: 0,
      s3Examples: [],
    });
  });

  it('counts missing, duplicated, altered and unexpected output records', () => {
    const t = tally();
    t.output(message(json(upper(logs[0]))));
    t.output(message(json(upper(logs[0]))));
    t.output(message(json({ ...upper(logs[1]), status_code: 503 })));
    t.output(message(json(upper(aWebLog()))));
    expect(t.ledger()).toMatchObject({ missing: 1, duplicatedOutput: 1, altered: 1, unexpectedOutput: 1 });
  });

  it('counts the sequences of a run that never reached the input topic, per run', () => {
    const t = new LedgerTally(INPUT, { kinds, sent: [0, 0] });
    // Run a wrote 1-3 and 6 (4 and 5 were in a send cut short), run b wrote 1-2; a resent 3 adds no gap.
    for (const [run, sequence] of [
      ['a', 1],
      ['a', 2],
      ['a', 3],
      ['a', 3],
      ['a', 6],
      ['b', 1],
      ['b', 2],
    ] as const) {
      t.input(message(json(aWebLog()), { [PipelineHeaders.runId]: run, [PipelineHeaders.sequence]: String(sequence) }));
    }
    expect(t.ledger()).toMatchObject({ generated: 7, neverWritten: 2 });
  });

  it('does not blame the pipeline for a record its producer wrote twice', () => {
    const t = tally();
    t.input(message(json(logs[2])));
    for (const log of [...logs, logs[2]]) t.output(message(json(upper(log))));
    expect(t.ledger()).toMatchObject({ generated: 3, resentByProducers: 1, duplicatedOutput: 0 });
  });

  it('leaves bad records out of the input count and checks each dead letter and its reason', () => {
    const t = tally([1, 2]);
    t.input(message(null, { [BAD_KIND_HEADER]: '0' }));
    t.deadLetter(deadLetter(0, 'not-an-object'));
    t.deadLetter(deadLetter(1, 'invalid-json'));
    t.deadLetter(deadLetter(1, 'contract-violation'));
    t.deadLetter(deadLetter(0, 'not-an-object', 'another-topic'));
    const ledger = t.ledger();
    expect(ledger).toMatchObject({ generated: 3, deadLettered: 3, badSent: 3 });
    expect(ledger.badMisfiled).toEqual([
      'truncated JSON: sent 2, dead-lettered with reason invalid-json 1, with other reasons: contract-violation',
    ]);
  });

  it('follows a record without an event id by the id the transformer derives for it', () => {
    const t = new LedgerTally(INPUT, { kinds, sent: [0, 0] });
    const { event_id: _id, ...sixFields } = aWebLog({ timestamp: '2026-11-23T19:15:30+09:00', referer: 'x' });
    const input = message(json(sixFields));
    t.input(input, 2);
    const id = deriveEventId({ topic: INPUT, partition: 2, offset: input.offset }, json(sixFields)).toUpperCase();
    const out = { ...sixFields, event_id: id, url: sixFields.url.toUpperCase(), user_agent: sixFields.user_agent.toUpperCase() };
    t.output(message(json({ ...out, timestamp: '2026-11-23T19:15:30+09:00', referer: 'X', timestamp_utc: '2026-11-23T10:15:30.000Z' })));
    expect(t.ledger()).toMatchObject({ generated: 1, missing: 0, altered: 0, unexpectedOutput: 0 });
  });

  describe('the archive, compared by identity', () => {
    /** The three logs in the output topic, one per partition, and the archived line of each. */
    function archivedTally(earlierRuns: ReadonlySet<string> = new Set()) {
      const t = new LedgerTally(INPUT, { kinds, sent: [0, 0] }, earlierRuns);
      for (const log of logs) t.input(message(json(log)));
      const lines = logs.map((log, partition) => {
        const out = message(json(upper(log)));
        t.output(out, partition);
        return { partition, offset: out.offset, eventId: upper(log).event_id, runId: 'run2' };
      });
      return { t, lines };
    }

    it('counts an output record missing when another record sits at its partition and offset', () => {
      const { t, lines } = archivedTally();
      const stranger = upper(aWebLog()).event_id;
      t.archived(lines[0]);
      t.archived(lines[1]);
      t.archived({ ...lines[2], eventId: stranger });
      const ledger = t.ledger();
      expect(ledger).toMatchObject({ missingInS3: 1, duplicatedInS3: 0, unexpectedInS3: 1 });
      expect(ledger.s3Examples).toContain(`missing ${lines[2].eventId} at 2:${lines[2].offset}, S3 holds ${stranger} there`);
    });

    it('counts a record archived twice, a record not archived and a line at no position of the topic', () => {
      const { t, lines } = archivedTally();
      t.archived(lines[0]);
      t.archived(lines[0]);
      t.archived({ ...lines[1], partition: 7 });
      expect(t.ledger()).toMatchObject({ missingInS3: 2, duplicatedInS3: 1, unexpectedInS3: 1 });
    });

    it('sets apart the lines of an earlier incarnation of the topics, and still wants the new records', () => {
      const { t, lines } = archivedTally(new Set(['run1']));
      const earlier = lines.map((line) => ({ ...line, eventId: upper(aWebLog()).event_id, runId: 'run1' }));
      for (const line of [...earlier, earlier[0]]) t.archived(line);
      t.archived(lines[0]);
      expect(t.ledger()).toMatchObject({ missingInS3: 2, duplicatedInS3: 0, unexpectedInS3: 0, earlierIncarnationInS3: 3 });
    });

    it('counts unreadable objects and lines', () => {
      const { t, lines } = archivedTally();
      for (const line of lines) t.archived(line);
      t.archiveProblem(2);
      expect(t.ledger()).toMatchObject({ missingInS3: 0, archiveProblems: 2 });
    });
  });
});
