import { Kafka, KafkaMessage } from 'kafkajs';
import {
  DeadLetterHeaders,
  decode,
  deriveEventId,
  headerText,
  readTopicToEnd,
  timestampToUtc,
  TransformedWebLogContract,
  WebLog,
  WebLogContract,
} from '@weblog/kafka-common';

/** Header put on every record of the bad-input corpus: the index of its kind. */
export const BAD_KIND_HEADER = 'reliability-bad-kind';

export interface BadKind {
  readonly name: string;
  readonly reason: string;
}

/** What the topics hold after a scenario, judged record by record against the input topic. */
export interface Ledger {
  /** Distinct valid records in the input topic: what the generators (and probes) got acknowledged. */
  readonly generated: number;
  /** Valid input records written more than once by a producer that retried an unacknowledged send. */
  readonly resentByProducers: number;
  /** Valid input records with no copy in the output topic. */
  readonly missing: number;
  /** Copies in the output topic beyond the number in the input topic. */
  readonly duplicatedOutput: number;
  /** Output records whose fields are not their input's upper-cased. */
  readonly altered: number;
  /** Output records that match no input record. */
  readonly unexpectedOutput: number;
  /** Dead letters whose source is the input topic. */
  readonly deadLettered: number;
  /** Corpus records sent, and those not dead-lettered exactly once with their expected reason. */
  readonly badSent: number;
  readonly badMisfiled: readonly string[];
}

/**
 * A web log with every string value upper-cased, its event id and its instant in UTC (the fleet's
 * transformers read zone-less times as UTC): what the transformer must publish.
 */
function upperCased(log: WebLog, eventId: string): Record<string, unknown> {
  return {
    ...Object.fromEntries(Object.entries(log).map(([field, value]) => [field, typeof value === 'string' ? value.toUpperCase() : value])),
    event_id: eventId,
    timestamp_utc: timestampToUtc(log.timestamp),
  };
}

function sameFields(expected: Record<string, unknown>, actual: Record<string, unknown>): boolean {
  const keys = Object.keys(expected);
  return keys.length === Object.keys(actual).length && keys.every((key) => expected[key] === actual[key]);
}

/**
 * Tallies the records of a scenario's topics, fed one by one: `bad.sent[i]` corpus records of kind
 * `i` (marked with `BAD_KIND_HEADER`) went into the input topic.
 */
export class LedgerTally {
  private readonly inputs = new Map<string, { count: number; expected: Record<string, unknown> }>();
  private readonly outputs = new Map<string, number>();
  private readonly filed: { right: number; wrong: string[] }[];
  private resent = 0;
  private altered = 0;
  private unexpected = 0;
  private deadLettered = 0;

  constructor(
    private readonly inputTopic: string,
    private readonly bad: { readonly kinds: readonly BadKind[]; readonly sent: readonly number[] },
  ) {
    this.filed = bad.kinds.map(() => ({ right: 0, wrong: [] }));
  }

  /** Input records must all be read before the first output record. */
  input(message: KafkaMessage, partition = 0): void {
    if (headerText(message.headers, BAD_KIND_HEADER) !== undefined) return;
    const decoded = decode(WebLogContract, message.value);
    if (!decoded.ok || !message.value) return;
    // A record without an id gets the one the transformer derives from where it lies.
    const id = (
      decoded.value.event_id ?? deriveEventId({ topic: this.inputTopic, partition, offset: message.offset }, message.value)
    ).toUpperCase();
    const entry = this.inputs.get(id);
    if (entry) {
      entry.count++;
      this.resent++;
    } else this.inputs.set(id, { count: 1, expected: upperCased(decoded.value, id) });
  }

  output(message: KafkaMessage): void {
    const decoded = decode(TransformedWebLogContract, message.value);
    const input = decoded.ok ? this.inputs.get(decoded.value.event_id) : undefined;
    if (!decoded.ok || !input) {
      this.unexpected++;
      return;
    }
    if (!sameFields(input.expected, decoded.value)) this.altered++;
    this.outputs.set(decoded.value.event_id, (this.outputs.get(decoded.value.event_id) ?? 0) + 1);
  }

  deadLetter(message: KafkaMessage): void {
    if (headerText(message.headers, DeadLetterHeaders.sourceTopic) !== this.inputTopic) return;
    this.deadLettered++;
    const kind = Number(headerText(message.headers, BAD_KIND_HEADER));
    const reason = headerText(message.headers, DeadLetterHeaders.reason) ?? '(none)';
    const entry = this.filed[kind];
    if (!entry) return;
    if (reason === this.bad.kinds[kind]?.reason) entry.right++;
    else entry.wrong.push(reason);
  }

  ledger(): Ledger {
    let missing = 0;
    let duplicated = 0;
    for (const [id, input] of this.inputs) {
      const copies = this.outputs.get(id) ?? 0;
      if (copies === 0) missing++;
      duplicated += Math.max(0, copies - input.count);
    }
    const badMisfiled = this.bad.kinds.flatMap((kind, i) => {
      const { right, wrong } = this.filed[i] ?? { right: 0, wrong: [] };
      const sent = this.bad.sent[i] ?? 0;
      if (right === sent && wrong.length === 0) return [];
      return [
        `${kind.name}: sent ${sent}, dead-lettered with reason ${kind.reason} ${right}${wrong.length ? `, with other reasons: ${wrong.join(', ')}` : ''}`,
      ];
    });
    return {
      generated: this.inputs.size,
      resentByProducers: this.resent,
      missing,
      duplicatedOutput: duplicated,
      altered: this.altered,
      unexpectedOutput: this.unexpected,
      deadLettered: this.deadLettered,
      badSent: this.bad.sent.reduce((sum, n) => sum + n, 0),
      badMisfiled,
    };
  }
}

/** Reads the input, output (read committed) and dead-letter topics to their ends and tallies them. */
export async function keepLedger(
  kafka: Kafka,
  topics: { readonly input: string; readonly output: string; readonly deadLetter: string },
  bad: { readonly kinds: readonly BadKind[]; readonly sent: readonly number[] },
): Promise<Ledger> {
  const tally = new LedgerTally(topics.input, bad);
  await readTopicToEnd(kafka, topics.input, (partition, message) => tally.input(message, partition));
  await readTopicToEnd(kafka, topics.output, (_partition, message) => tally.output(message));
  await readTopicToEnd(kafka, topics.deadLetter, (_partition, message) => tally.deadLetter(message));
  return tally.ledger();
}
