import { Kafka, KafkaMessage } from 'kafkajs';
import {
  DeadLetterHeaders,
  PipelineHeaders,
  decode,
  deriveEventId,
  headerText,
  readTopicToEnd,
  timestampToUtc,
  TransformedWebLogContract,
  WebLog,
  WebLogContract,
} from '@weblog/kafka-common';
import { ArchiveStore, listArchive, readArchiveObject } from '@weblog/s3-archive';

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
  /**
   * Sequence numbers a generator run gave records that never reached the input topic (1 to the
   * run's highest written): a generator killed while a send was under way, its records written to
   * some partitions and not to others. Nobody acknowledged them, so they are no loss; but the
   * verifier, which sees only the output, counts them as gaps in the run.
   */
  readonly neverWritten: number;
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
  /** Output records with no archived line of their own event id at their partition and offset. */
  readonly missingInS3: number;
  /** Output records archived more than once. */
  readonly duplicatedInS3: number;
  /** Archived lines that are no output record (another event id at the position, or no such position), of no earlier incarnation. */
  readonly unexpectedInS3: number;
  /** Distinct records (event ids) archived from runs that went into earlier incarnations of the topics (deleted and recreated since). */
  readonly earlierIncarnationInS3: number;
  /** Objects or lines of the archive that could not be read. */
  readonly archiveProblems: number;
  /** A few of the S3 differences, each with its position and event ids, to start a diagnosis from. */
  readonly s3Examples: readonly string[];
}

/** One line of the archive, as the ledger compares it with the output topic. */
export interface ArchivedLine {
  readonly partition: number;
  readonly offset: string;
  readonly eventId: string;
  readonly runId: string | undefined;
}

const S3_EXAMPLES = 10;

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
  /** Event id of every valid output record, by `partition:offset`. */
  private readonly positions = new Map<string, string>();
  /** Archived lines by `partition:offset`, each with its event id and run. */
  private readonly archive = new Map<string, { eventId: string; runId: string | undefined }[]>();
  private archiveProblems = 0;
  private readonly filed: { right: number; wrong: string[] }[];
  private resent = 0;
  /** The sequences of each generator run in the input topic. */
  private readonly runSequences = new Map<string, { highest: number; seen: Set<number> }>();
  private altered = 0;
  private unexpected = 0;
  private deadLettered = 0;

  constructor(
    private readonly inputTopic: string,
    private readonly bad: { readonly kinds: readonly BadKind[]; readonly sent: readonly number[] },
    /** Runs of earlier incarnations of the topics: their archived lines are neither ours nor strangers. */
    private readonly earlierRuns: ReadonlySet<string> = new Set(),
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
    const run = headerText(message.headers, PipelineHeaders.runId);
    const sequence = Number(headerText(message.headers, PipelineHeaders.sequence));
    if (run !== undefined && Number.isSafeInteger(sequence) && sequence > 0) {
      let sequences = this.runSequences.get(run);
      if (!sequences) this.runSequences.set(run, (sequences = { highest: 0, seen: new Set() }));
      sequences.seen.add(sequence);
      sequences.highest = Math.max(sequences.highest, sequence);
    }
  }

  output(message: KafkaMessage, partition = 0): void {
    const decoded = decode(TransformedWebLogContract, message.value);
    // Every valid record of the topic belongs in S3, even one the input cannot explain.
    if (decoded.ok) this.positions.set(`${partition}:${message.offset}`, decoded.value.event_id);
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

  /** A line read back from the archive; its identity is compared with the output record at its position. */
  archived(line: ArchivedLine): void {
    const position = `${line.partition}:${line.offset}`;
    const lines = this.archive.get(position) ?? [];
    lines.push({ eventId: line.eventId, runId: line.runId });
    this.archive.set(position, lines);
  }

  archiveProblem(count = 1): void {
    this.archiveProblems += count;
  }

  /**
   * By identity, not position: an object of other records at the right keys (another incarnation
   * of the topic, a stale upload taken for ours) leaves every record it stands in for missing.
   */
  private compareArchive(): Pick<
    Ledger,
    'missingInS3' | 'duplicatedInS3' | 'unexpectedInS3' | 'earlierIncarnationInS3' | 'archiveProblems' | 's3Examples'
  > {
    let missing = 0;
    let duplicated = 0;
    let unexpected = 0;
    const earlier = new Set<string>();
    const examples: string[] = [];
    const example = (text: string) => {
      if (examples.length < S3_EXAMPLES) examples.push(text);
    };
    for (const [position, eventId] of this.positions) {
      const lines = this.archive.get(position) ?? [];
      const copies = lines.filter((line) => line.eventId === eventId).length;
      if (copies === 0) {
        missing++;
        const others = lines.map((line) => line.eventId);
        example(`missing ${eventId} at ${position}${others.length ? `, S3 holds ${others.join(', ')} there` : ''}`);
      } else if (copies > 1) {
        duplicated++;
        example(`${eventId} at ${position} archived ${copies} times`);
      }
    }
    for (const [position, lines] of this.archive) {
      const eventId = this.positions.get(position);
      for (const line of lines) {
        if (line.eventId === eventId) continue;
        if (line.runId !== undefined && this.earlierRuns.has(line.runId)) earlier.add(line.eventId);
        else {
          unexpected++;
          example(`unexpected ${line.eventId} (run ${line.runId ?? 'none'}) at ${position}`);
        }
      }
    }
    return {
      missingInS3: missing,
      duplicatedInS3: duplicated,
      unexpectedInS3: unexpected,
      earlierIncarnationInS3: earlier.size,
      archiveProblems: this.archiveProblems,
      s3Examples: examples,
    };
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
    let neverWritten = 0;
    // The highest is kept as records come: spreading a long run's set into Math.max overflows the stack.
    for (const { highest, seen } of this.runSequences.values()) neverWritten += highest - seen.size;
    return {
      generated: this.inputs.size,
      resentByProducers: this.resent,
      neverWritten,
      missing,
      duplicatedOutput: duplicated,
      altered: this.altered,
      unexpectedOutput: this.unexpected,
      deadLettered: this.deadLettered,
      badSent: this.bad.sent.reduce((sum, n) => sum + n, 0),
      badMisfiled,
      ...this.compareArchive(),
    };
  }
}

/** Where a scenario's archiver writes: the bucket and the topics directory of its objects. */
export interface ArchiveLocation {
  readonly store: ArchiveStore;
  readonly topicsDir: string;
}

/**
 * Reads the input, output (read committed) and dead-letter topics to their ends, and every archive
 * object of the output topic, and tallies them. `earlierRuns` are the runs of earlier incarnations
 * of the topics, whose objects may still be in the archive.
 */
export async function keepLedger(
  kafka: Kafka,
  topics: { readonly input: string; readonly output: string; readonly deadLetter: string },
  bad: { readonly kinds: readonly BadKind[]; readonly sent: readonly number[] },
  archive: ArchiveLocation,
  earlierRuns: ReadonlySet<string> = new Set(),
): Promise<Ledger> {
  const tally = new LedgerTally(topics.input, bad, earlierRuns);
  await readTopicToEnd(kafka, topics.input, (partition, message) => tally.input(message, partition));
  await readTopicToEnd(kafka, topics.output, (partition, message) => tally.output(message, partition));
  await readTopicToEnd(kafka, topics.deadLetter, (_partition, message) => tally.deadLetter(message));
  for (const objects of (await listArchive(archive.store, archive.topicsDir, topics.output)).values()) {
    for (const object of objects) {
      const { records, problems } = await readArchiveObject(archive.store, object);
      tally.archiveProblem(problems.length);
      for (const record of records) {
        tally.archived({
          partition: record.partition,
          offset: record.offset.toString(),
          eventId: record.value.event_id,
          runId: record.headers[PipelineHeaders.runId],
        });
      }
    }
  }
  return tally.ledger();
}
