import { pipelineTopics } from './kafka-client';
import { parseEnv, kafkaEnvShape, serviceEnv } from '../config/env';
import { DEAD_LETTER_MAX_MESSAGE_BYTES, pipelineTopicSpecs, topicConfig } from './topic-admin';

const schema = serviceEnv(kafkaEnvShape);

describe('pipelineTopicSpecs', () => {
  it('creates every pipeline topic with the configured replicas and min.insync.replicas', () => {
    const env = parseEnv(schema, {
      KAFKA_BROKERS: '127.0.0.1:9092',
      KAFKA_TOPIC_REPLICATION_FACTOR: '3',
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2',
    });
    const specs = pipelineTopicSpecs(pipelineTopics(env));
    expect(specs.map((spec) => [spec.replicationFactor, topicConfig(spec)['min.insync.replicas']])).toEqual([
      [3, '2'],
      [3, '2'],
      [3, '2'],
      [3, '2'],
    ]);
    expect(topicConfig(specs[3])['max.message.bytes']).toBe(String(DEAD_LETTER_MAX_MESSAGE_BYTES));
  });

  it('leaves min.insync.replicas to the broker when it is not configured', () => {
    const specs = pipelineTopicSpecs(pipelineTopics(parseEnv(schema, { KAFKA_BROKERS: '127.0.0.1:9092' })));
    expect(specs.every((spec) => !('min.insync.replicas' in topicConfig(spec)))).toBe(true);
  });
});
