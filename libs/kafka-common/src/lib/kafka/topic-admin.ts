import { Admin } from 'kafkajs';
import { PipelineTopics } from './kafka-client';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Replicas a write with acks=all needs; unset, the broker's default. */
  readonly minInsyncReplicas?: number;
  /** Topic configuration set at creation. */
  readonly config?: Readonly<Record<string, string>>;
}

/** The configuration a topic is created with: its own entries, and min.insync.replicas when given. */
export function topicConfig(spec: TopicSpec): Record<string, string> {
  return {
    ...(spec.minInsyncReplicas !== undefined ? { 'min.insync.replicas': String(spec.minInsyncReplicas) } : {}),
    ...spec.config,
  };
}

/**
 * A dead letter is the original record plus headers naming its source and reason, so a record at
 * the input topic's size limit (the broker default, 1 MiB) outgrows it. The dead-letter topic
 * takes records twice that size, so such a record is dead-lettered whole instead of blocking its
 * partition.
 */
export const DEAD_LETTER_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

/**
 * Creates missing topics and checks the partition counts of existing ones. Services run with
 * broker auto-creation off: kafkajs misbehaves when it subscribes to a topic that does not exist.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length > 0) {
    // Another service may create the same topic at the same moment; the check below is what counts.
    // So it is when waiting for the leaders fails on a broker that does not know the new topic yet.
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(topicConfig(spec)).map(([name, value]) => ({ name, value })),
        })),
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error) || !(/already exists/i.test(error.message) || (error as { retriable?: unknown }).retriable === true))
          throw error;
      });
  }
  const metadata = await untilKnown(admin, specs);
  for (const spec of specs) {
    const found = metadata.topics.find((topic) => topic.name === spec.name);
    const count = found?.partitions.length ?? 0;
    if (count < spec.partitions) {
      throw new Error(`topic ${spec.name} has ${count} partitions, ${spec.partitions} expected`);
    }
  }
  await untilServed(admin, specs);
}

/** How long a topic just created (by us or by a service starting beside us) may take to be served. */
const SERVED_TIMEOUT_MS = 30000;

/**
 * The topics' metadata once the broker asked knows them all. In a cluster, a topic just created
 * (by us, or by a service starting beside us) reaches each broker's metadata a moment later, and
 * until then that broker answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs does not retry here.
 */
async function untilKnown(admin: Admin, specs: readonly TopicSpec[]): ReturnType<Admin['fetchTopicMetadata']> {
  const deadline = Date.now() + SERVED_TIMEOUT_MS;
  for (;;) {
    try {
      return await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.name) });
    } catch (error) {
      if ((error as { retriable?: unknown }).retriable !== true || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until the leader of every partition answers for it. A caller that lost the race to create
 * a topic learns "already exists" before the winner's partitions have leaders, and a first send
 * then fails with "not the leader for that topic-partition".
 */
async function untilServed(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const deadline = Date.now() + SERVED_TIMEOUT_MS;
  for (const spec of specs) {
    for (;;) {
      const answered = await admin.fetchTopicOffsets(spec.name).then(
        (offsets) => offsets.length >= spec.partitions,
        () => false,
      );
      if (answered) break;
      if (Date.now() > deadline) throw new Error(`topic ${spec.name}: not every partition has a leader after ${SERVED_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Every topic of the pipeline, as a service's configuration names them. */
export function pipelineTopicSpecs(topics: PipelineTopics): TopicSpec[] {
  return [topics.input, topics.output, topics.reprocessed, topics.deadLetter].map(({ name }) => ({
    name,
    partitions: topics.partitions,
    replicationFactor: topics.replicationFactor,
    ...(topics.minInsyncReplicas !== undefined ? { minInsyncReplicas: topics.minInsyncReplicas } : {}),
    ...(name === topics.deadLetter.name ? { config: { 'max.message.bytes': String(DEAD_LETTER_MAX_MESSAGE_BYTES) } } : {}),
  }));
}
