import { BaseRpcContext } from '@nestjs/microservices';
import { KafkaMessage } from 'kafkajs';
import { DeadLetterReason } from '../kafka/dead-letter';

/** What a handler receives: the records of one partition, in offset order. */
export interface KafkaBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  readonly firstOffset: string;
  /** Offset of the last record in the fetched batch, control records included. */
  readonly lastOffset: string;
  readonly highWatermark: string;
}

/**
 * `deferred` mode: says that the handler's work below `nextOffset` is durable. The transport
 * commits it (carried over marker-only ranges) while this instance owns the partition.
 */
export type DurabilityReporter = (nextOffset: bigint) => Promise<void>;

export interface KafkaBatchContextHost {
  readonly groupId: string;
  readonly consumerName: string;
  heartbeat(): Promise<void>;
  isStale(): boolean;
  durability(): DurabilityReporter;
  deadLetter(message: KafkaMessage, failure: DeadLetterReason): Promise<void>;
}

export class KafkaBatchContext extends BaseRpcContext<[KafkaBatch, KafkaBatchContextHost]> {
  get batch(): KafkaBatch {
    return this.args[0];
  }
  get groupId(): string {
    return this.args[1].groupId;
  }
  /** Keeps the group membership alive inside a long batch (the transport also does it on a timer). */
  heartbeat(): Promise<void> {
    return this.args[1].heartbeat();
  }
  /** True when the partition was revoked or seeked while this batch ran: its results must not be committed. */
  isStale(): boolean {
    return this.args[1].isStale();
  }
  /** `deferred` mode: the reporter of this partition's durable offset, valid for as long as the partition stays assigned. */
  durability(): DurabilityReporter {
    return this.args[1].durability();
  }
  /** Publishes a record unchanged to the dead-letter topic, resolving once Kafka acknowledged it. */
  deadLetter(message: KafkaMessage, failure: DeadLetterReason): Promise<void> {
    return this.args[1].deadLetter(message, failure);
  }
}
