import { Contract } from './contract';
import { TransformedWebLog, TransformedWebLogContract } from './transformed-web-log.contract';
import { WebLog, WebLogContract } from './web-log.contract';

/**
 * A logical topic bound to its contract. `key` is what handlers subscribe to
 * (`@EventPattern(InputTopic.key)`); the real name comes from configuration, so
 * decorators never read the environment.
 */
export interface TopicDefinition<T> {
  readonly key: string;
  readonly defaultName: string;
  readonly nameVariable: string;
  readonly contract: Contract<T>;
}

/** A topic definition with the name resolved from configuration. */
export interface TopicRef<T> {
  readonly definition: TopicDefinition<T>;
  readonly name: string;
}

/** Dead letters keep the original bytes, so their topic has no value contract. */
export interface RawTopicRef {
  readonly name: string;
}

export const DEFAULT_PARTITIONS = 3;

export const InputTopic: TopicDefinition<WebLog> = {
  key: 'weblog.input',
  defaultName: 'input-topic',
  nameVariable: 'KAFKA_TOPIC_INPUT',
  contract: WebLogContract,
};

export const OutputTopic: TopicDefinition<TransformedWebLog> = {
  key: 'weblog.output',
  defaultName: 'output-topic',
  nameVariable: 'KAFKA_TOPIC_OUTPUT',
  contract: TransformedWebLogContract,
};

export const ReprocessedTopic: TopicDefinition<TransformedWebLog> = {
  key: 'weblog.reprocessed',
  defaultName: 'reprocessed-data',
  nameVariable: 'KAFKA_TOPIC_REPROCESSED',
  contract: TransformedWebLogContract,
};

export const DEAD_LETTER_TOPIC_DEFAULT = 'weblog-dead-letter';
export const DEAD_LETTER_TOPIC_VARIABLE = 'KAFKA_TOPIC_DEAD_LETTER';

export function topicRef<T>(definition: TopicDefinition<T>, name: string = definition.defaultName): TopicRef<T> {
  return { definition, name };
}
