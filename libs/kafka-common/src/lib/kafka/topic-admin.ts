import { Admin } from 'kafkajs';
import { PipelineTopics } from './kafka-client';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

/**
 * Creates missing topics and checks the partition counts of existing ones. Services run with
 * broker auto-creation off: kafkajs misbehaves when it subscribes to a topic that does not exist.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (missing.length > 0) {
    // Another service may create the same topic at the same moment; the check below is what counts.
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({ topic: spec.name, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor })),
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error) || !/already exists/i.test(error.message)) throw error;
      });
  }
  const metadata = await admin.fetchTopicMetadata({ topics: specs.map((spec) => spec.name) });
  for (const spec of specs) {
    const found = metadata.topics.find((topic) => topic.name === spec.name);
    const count = found?.partitions.length ?? 0;
    if (count < spec.partitions) {
      throw new Error(`topic ${spec.name} has ${count} partitions, ${spec.partitions} expected`);
    }
  }
}

/** Every topic of the pipeline, as a service's configuration names them. */
export function pipelineTopicSpecs(topics: PipelineTopics): TopicSpec[] {
  return [topics.input, topics.output, topics.reprocessed, topics.deadLetter].map(({ name }) => ({
    name,
    partitions: topics.partitions,
    replicationFactor: topics.replicationFactor,
  }));
}
