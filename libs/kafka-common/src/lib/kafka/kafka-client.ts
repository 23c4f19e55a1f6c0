import { readFileSync } from 'node:fs';
import { Kafka, KafkaConfig, logLevel, LogEntry, SASLOptions } from 'kafkajs';
import { LoggerService } from '@nestjs/common';
import { KafkaEnv } from '../config/env';
import {
  DEAD_LETTER_TOPIC_DEFAULT,
  DEAD_LETTER_TOPIC_VARIABLE,
  InputTopic,
  OutputTopic,
  RawTopicRef,
  ReprocessedTopic,
  TopicRef,
  topicRef,
} from '../contracts/topics';
import { TransformedWebLog } from '../contracts/transformed-web-log.contract';
import { WebLog } from '../contracts/web-log.contract';
import { noDelaySocketFactory } from './socket-factory';

/** kafkajs logs go through the service's logger, so they come out as the same JSON lines. */
export function kafkaLogCreator(logger: LoggerService) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const details = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
      const line = `[${namespace}] ${String(message)}${details}`;
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(line);
      else if (level === logLevel.WARN) logger.warn(line);
      else if (level === logLevel.INFO) logger.log(line);
      else logger.debug?.(line);
    };
}

function saslOptions(env: KafkaEnv): SASLOptions | undefined {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = env;
  if (mechanism === undefined || username === undefined || password === undefined) return undefined;
  return { mechanism, username, password };
}

/** The kafkajs client configuration a service's environment describes. */
export function kafkaConfig(env: KafkaEnv, clientId: string, logger: LoggerService): KafkaConfig {
  const sasl = saslOptions(env);
  const ssl = env.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(env.KAFKA_SSL_CA_FILE, 'utf8')] } : env.KAFKA_SSL;
  return {
    clientId: env.KAFKA_CLIENT_ID ?? clientId,
    brokers: env.KAFKA_BROKERS,
    ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: 5000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10000 },
    socketFactory: noDelaySocketFactory,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  };
}

export function createKafka(env: KafkaEnv, clientId: string, logger: LoggerService): Kafka {
  return new Kafka(kafkaConfig(env, clientId, logger));
}

/** The pipeline's topics with the names this environment gives them. */
export interface PipelineTopics {
  readonly input: TopicRef<WebLog>;
  readonly output: TopicRef<TransformedWebLog>;
  readonly reprocessed: TopicRef<TransformedWebLog>;
  readonly deadLetter: RawTopicRef;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Undefined: the broker's default. */
  readonly minInsyncReplicas: number | undefined;
}

export function pipelineTopics(env: KafkaEnv): PipelineTopics {
  const names = env as unknown as Record<string, string>;
  return {
    input: topicRef(InputTopic, names[InputTopic.nameVariable]),
    output: topicRef(OutputTopic, names[OutputTopic.nameVariable]),
    reprocessed: topicRef(ReprocessedTopic, names[ReprocessedTopic.nameVariable]),
    deadLetter: { name: names[DEAD_LETTER_TOPIC_VARIABLE] ?? DEAD_LETTER_TOPIC_DEFAULT },
    partitions: env.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: env.KAFKA_TOPIC_REPLICATION_FACTOR,
    minInsyncReplicas: env.KAFKA_TOPIC_MIN_INSYNC_REPLICAS,
  };
}
