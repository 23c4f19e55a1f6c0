import { KafkaMessage, Message } from 'kafkajs';
import { TopicRef } from '../contracts/topics';
import { DeadLetterReason } from '../kafka/dead-letter';
import { encodeRecords, OutgoingRecord, recordMessage } from '../kafka/contract-producer';

/**
 * The delivery rules of every consumer, in one place. The transport applies them; handlers only
 * say what a batch produced or how far their own work is durable.
 *
 * 1. A partition's batches reach its handler in offset order, one at a time, even when kafkajs
 *    hands a partition over again while a batch of it still runs (after a rejoin): the later
 *    batch waits until the earlier one is delivered. In `deferred` and `never-commit` an offset
 *    is resolved (kafkajs moves its fetch position) only once the handler took the batch; a
 *    handler that throws took nothing, and the same records come again after a backoff. In
 *    `ack-then-commit` and `transaction` the batch is resolved as soon as its handler starts, so
 *    kafkajs fetches the next records while it runs (kafkajs fetches again only once every batch
 *    of a fetch is resolved); a handler that throws sends the partition back to the batch's
 *    first record, as a failed send does (below), and the same records come again after a backoff.
 * 2. Nothing is committed for a partition this instance does not own in the current group
 *    generation, and within a generation a partition's committed offset only moves forward.
 * 3. The modes:
 *    - `ack-then-commit` (at-least-once): the batch's records and dead letters are acknowledged by
 *      every in-sync replica, then the batch end is committed. A crash in between sends again.
 *      The batch is resolved as soon as its handler starts, so kafkajs fetches while it is
 *      handled and acknowledged; the partition's next batch reaches the handler only after that
 *      (one batch a partition undelivered). A handler or a send that fails sends the partition
 *      back to the batch's first record: kafkajs seeks there, a batch of it fetched meanwhile is
 *      dropped unhandled, and the partition pauses with backoff. Closing waits for the
 *      acknowledgements.
 *    - `transaction` (exactly-once): records, dead letters and the input offsets go in one
 *      transaction per input partition (one transactional id per partition, so a new owner fences
 *      the old one). After any doubt (a failed transaction, a rebalance, a start) the producer is
 *      initialised again (InitProducerId), which waits for the broker to finish any transaction of
 *      that id, and the group's committed offset, read stable (KIP-447: never one a transaction
 *      still holds), becomes the partition's floor: records below it were done by a
 *      transaction that committed and never reach the handler again, however the next batches
 *      are cut (a re-fetched batch can end before the committed offset). A committed offset
 *      read below the one our own last transaction committed is read again until it catches up
 *      (after a coordinator failover the group serves a completed transaction's offsets late,
 *      and kafkajs joins at that older offset), for up to 15 s; one that stays below is a reset.
 *      As at least once, the batch is resolved as soon as its handler starts and its transaction
 *      runs behind it; the partition's next batch waits for it, and a handler or transaction that
 *      fails sends the partition back to the batch's first record.
 *    - A hanging transaction: offsets still held, after the fencing, by a transaction the broker
 *      completed without writing its markers (a single broker restarted after a crash can do
 *      this). Its records and offsets wait, pending, for the next marker of the same producer id.
 *      When it is the one whose commit we sent last, the resync continues after it, and our next
 *      commit writes the markers that commit it whole (records and offsets, as one transaction
 *      should be). A hanging transaction we know nothing of fails the batch with an error that
 *      says so: continuing before or after it would duplicate or lose its records.
 *    - `deferred` (work made durable later, such as an upload): the handler reports the offset
 *      below which its work is durable; that offset is committed.
 *    - `never-commit`: nothing is committed; each start reads from the beginning.
 *    In `ack-then-commit` and `deferred` the commit goes out once the batch is resolved: the next
 *    fetch does not wait for its round trip. What it commits is acknowledged or durable already,
 *    and a commit that fails is covered by the partition's next one (a crash before that does
 *    the records again, as at-least-once allows). Closing waits for the commits still running.
 * 4. Transaction markers take offsets but never reach a handler. Ranges holding only markers (the
 *    tail of a batch, a batch of markers alone) are committed past only when everything before
 *    them is done: in the first two modes once the partition's batch before is delivered (at
 *    least once: acknowledged, and not at all if its send failed and the partition went back), and
 *    in `deferred` mode once the handler's durable offset reaches the range's start. A batch the
 *    handler did not take is never resolved, so no marker range can open after it.
 * 5. Dead letters are acknowledged before any offset above them is committed.
 * 6. A partition fetched from below where this process stood (below its last resolved batch in
 *    the generation, or below an offset it committed) has started again: its topic was deleted
 *    and created again, or its group's offsets were reset. Its delivery state is dropped, the
 *    handler is told (`partitionReset`), and its records are new records, never redeliveries.
 */
export type DeliveryMode = 'ack-then-commit' | 'transaction' | 'deferred' | 'never-commit';

/**
 * Records for one topic: values checked against its contract and encoded when sent, or (`encoded`)
 * values `encode` already turned into bytes for that contract, in another thread of the process.
 */
export type Publication<T = unknown> =
  | { readonly topic: TopicRef<T>; readonly records: readonly OutgoingRecord<T>[]; readonly encoded?: undefined }
  | { readonly topic: TopicRef<T>; readonly records: readonly OutgoingRecord<Buffer>[]; readonly encoded: true };

/** A record the handler refused, and why: the transport dead-letters it. */
export interface Refusal {
  readonly message: KafkaMessage;
  readonly failure: DeadLetterReason;
}

/** What a handler's batch produced. Everything is optional: returning nothing means "done, nothing to send". */
export interface BatchResult {
  readonly publish?: readonly Publication[];
  readonly deadLetters?: readonly Refusal[];
  /** `deferred` mode: every offset below this one is durable now. */
  readonly durableBelow?: bigint;
}

/** Typed constructor of a publication, so records are checked against the topic's contract. */
export function publication<T>(topic: TopicRef<T>, records: readonly OutgoingRecord<T>[]): Publication {
  return { topic, records };
}

/**
 * A publication of values already encoded, each by `encode` with the topic's contract (which
 * checked it): a worker thread's results, which cannot carry the codec's mark across. Sent as
 * they are.
 */
export function encodedPublication<T>(topic: TopicRef<T>, records: readonly OutgoingRecord<Buffer>[]): Publication {
  return { topic, records, encoded: true };
}

/** The messages a publication sends. */
export function publicationMessages(p: Publication): Message[] {
  if (!p.encoded) return encodeRecords(p.topic, p.records);
  return p.records.map((record) => recordMessage(record, record.value));
}

/** Thrown by a handler that refuses a batch on purpose (draining): nothing is taken, nothing is counted as a failure. */
export class BatchDeclined extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'BatchDeclined';
  }
}

/**
 * Where a partition stands in `deferred` mode (rule 4): the end of what the handler took, what it
 * reported durable, and the marker-only ranges in between. Offsets are "next offset" positions.
 */
export class DeferredProgress {
  private taken: bigint | undefined;
  private durable: bigint | undefined;
  /** [from, to): offsets holding only transaction markers, sorted, not yet passed. */
  private markers: [bigint, bigint][] = [];

  /** The handler took a batch whose last record is `lastRecord` and whose fetch ended at `lastOffset` (markers included). */
  took(lastRecord: bigint, lastOffset: bigint): void {
    if (lastOffset > lastRecord) this.addMarkers(lastRecord + 1n, lastOffset + 1n);
    this.taken = lastOffset + 1n;
  }

  /**
   * A batch of markers only, ending at `lastOffset`. It starts where the last taken batch ended:
   * kafkajs fetches from the resolved position, and only taken batches are resolved. Before any
   * batch of this assignment it starts at the committed offset, so its end is committable as is.
   */
  markersOnly(lastOffset: bigint): void {
    if (this.taken === undefined) {
      this.durable = this.durable === undefined || this.durable < lastOffset + 1n ? lastOffset + 1n : this.durable;
    } else if (lastOffset + 1n > this.taken) {
      this.addMarkers(this.taken, lastOffset + 1n);
    }
    if (this.taken === undefined || lastOffset + 1n > this.taken) this.taken = lastOffset + 1n;
  }

  /** The handler's work below `nextOffset` is durable. */
  report(nextOffset: bigint): void {
    if (this.durable === undefined || nextOffset > this.durable) this.durable = nextOffset;
  }

  /** The offset that may be committed now: the durable offset, carried over every marker range it reaches. */
  committable(): bigint | undefined {
    let offset = this.durable;
    if (offset === undefined) return undefined;
    while (this.markers.length > 0 && this.markers[0][0] <= offset) {
      const [, to] = this.markers[0];
      if (to > offset) offset = to;
      this.markers.shift();
    }
    this.durable = offset;
    return offset;
  }

  private addMarkers(from: bigint, to: bigint): void {
    this.markers.push([from, to]);
    this.markers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/**
 * Where a partition stands in `transaction` mode (rule 3): the position the last committed
 * transaction left, and the floor below which records are known to be done.
 */
export class TransactionalProgress {
  private expected: bigint | undefined;
  private floor = -1n;
  /** The offset our own last committed transaction left for the partition. */
  private ownCommit: bigint | undefined;
  /** The end of the last transaction whose commit we sent, answered or not. */
  private sent: bigint | undefined;
  /** The producer id and epoch our last InitProducerId for the partition's transactional id got. */
  private producer: { readonly id: number; readonly epoch: number } | undefined;

  /** What a resync must see at least, unless the partition was reset: our own last commit. */
  get committedByUs(): bigint | undefined {
    return this.ownCommit;
  }

  /**
   * Where the last transaction whose commit we sent ends, answered or not, while no producer but
   * ours has initialised the transactional id since: then a transaction of that id left hanging
   * can only be that one.
   */
  get commitSent(): bigint | undefined {
    return this.sent;
  }

  /** The commit of the transaction ending at `lastOffset` is being sent. */
  committing(lastOffset: bigint): void {
    this.sent = lastOffset + 1n;
  }

  /**
   * Our InitProducerId got this id and epoch. Every InitProducerId bumps the epoch by one, so
   * another than the next of ours means some other producer initialised the id in between.
   */
  initialised(id: number, epoch: number): void {
    if (!this.producer || this.producer.id !== id || this.producer.epoch + 1 !== epoch) this.sent = undefined;
    this.producer = { id, epoch };
  }

  /** True when a batch starting at `firstOffset` does not follow our own last commit: resynchronise first. */
  inDoubt(firstOffset: bigint): boolean {
    return this.expected !== firstOffset;
  }

  /**
   * After a resync: the group's committed offset (-1 when none) is the floor until the next
   * resync. It is taken as it is, even when lower than before: only an operator's reset or a
   * recreated topic moves a group's offset back, and both mean "process these again".
   */
  resynced(committed: bigint): void {
    this.floor = committed;
    // A reset was taken: our commits of before it say nothing about the partition now.
    if (this.ownCommit !== undefined && committed < this.ownCommit) this.ownCommit = undefined;
    if (this.sent !== undefined && committed < this.sent) this.sent = undefined;
  }

  /** The records of a batch not yet done by a committed transaction. */
  pending<M extends { offset: string }>(messages: readonly M[]): M[] {
    return messages.filter((m) => BigInt(m.offset) >= this.floor);
  }

  /** The batch ending at `lastOffset` is done (its transaction committed, or nothing of it was pending). */
  done(lastOffset: bigint): void {
    this.expected = lastOffset + 1n;
  }

  /** Our transaction that ends at `lastOffset` committed. */
  committed(lastOffset: bigint): void {
    this.done(lastOffset);
    this.ownCommit = lastOffset + 1n;
  }

  /** The outcome of the last transaction is unknown. */
  doubt(): void {
    this.expected = undefined;
  }
}

/** A committed-offset reading that a transaction still holds: it sent offsets and has not completed. */
export const UNSTABLE = 'unstable';

/** What a resync may take as the partition's floor (rule 3). */
export type ResyncReading =
  /** The committed offset; `caughtUp` false when it stayed below our own last commit (a reset). */
  | { readonly offset: bigint; readonly caughtUp: boolean }
  /** The group's offset stayed held by a transaction after our producer fenced every one of its id. */
  | { readonly hanging: true };

/** A resync found a hanging transaction it cannot see the end of: nothing is known done or not. */
export class HangingTransactionError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'HangingTransactionError';
  }
}

/**
 * The group's committed offset for a resync (rule 3), read stable (KIP-447): a reading a
 * transaction still holds is read again, for at most `unstableMs`; one held longer is `hanging`
 * (the broker completed the transaction without writing its markers). After a coordinator
 * failover the group can also serve, for a while, an offset older than one a transaction of ours
 * committed: read again until it reaches `ours`, for at most `limitMs`; one that stays below is a
 * reset (an operator's, or a recreated topic) and is taken as it is.
 */
export async function committedAfterOurs(
  read: () => Promise<bigint | typeof UNSTABLE>,
  ours: bigint | undefined,
  { limitMs, unstableMs, pauseMs = 200 }: { limitMs: number; unstableMs: number; pauseMs?: number },
): Promise<ResyncReading> {
  const started = Date.now();
  for (;;) {
    const offset = await read();
    const waited = Date.now() - started;
    if (offset === UNSTABLE) {
      if (waited >= unstableMs) return { hanging: true };
    } else if (ours === undefined || offset >= ours) {
      return { offset, caughtUp: true };
    } else if (waited >= limitMs) {
      return { offset, caughtUp: false };
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
