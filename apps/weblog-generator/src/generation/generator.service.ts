import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  ManagedProducer,
  MetricsService,
  OutgoingRecord,
  PIPELINE_TOPICS,
  PipelineHeaders,
  PipelineTopics,
  requestShutdown,
  sendRecords,
  WebLog,
} from '@weblog/kafka-common';
import { Counter, Histogram } from 'prom-client';
import { GeneratorEnv } from '../generator.env';
import { GENERATOR_ENV, GENERATOR_PRODUCER } from '../generator.tokens';
import { RatePacer } from './rate-pacer';
import { WebLogFactory } from './web-log-factory';

export interface RunSummary {
  readonly runId: string;
  readonly acknowledged: number;
  readonly failedAttempts: number;
  readonly seconds: number;
}

/**
 * Produces web logs to the input topic at the configured rate. A record counts as sent only once
 * Kafka acknowledged it (acks=all); a batch that fails is sent again with the same sequence
 * numbers, so a run's sequences stay 1, 2, 3, ... without gaps. Each record is stamped with the
 * moment its schedule made it due (at rate 0, when it was handed to the producer), and keeps that
 * stamp through resends: end-to-end latency includes any time it waited in the generator.
 */
@Injectable()
export class GeneratorService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(GeneratorService.name);
  readonly runId: string;
  private readonly factory: WebLogFactory;
  private stopping = false;
  private loop?: Promise<RunSummary>;
  private acknowledged = 0;
  private failedAttempts = 0;
  private readonly produced: Counter;
  private readonly acked: Counter;
  private readonly failed: Counter;
  private readonly latency: Histogram;

  constructor(
    @Inject(GENERATOR_ENV) private readonly env: GeneratorEnv,
    @Inject(PIPELINE_TOPICS) private readonly topics: PipelineTopics,
    @Inject(GENERATOR_PRODUCER) private readonly producer: ManagedProducer,
    metrics: MetricsService,
  ) {
    this.runId = env.GENERATOR_RUN_ID ?? randomUUID();
    this.factory = new WebLogFactory({ ...(env.GENERATOR_SEED === undefined ? {} : { seed: env.GENERATOR_SEED }) });
    this.produced = metrics.counter({ name: 'records_produced_total', help: 'Records handed to the Kafka producer (resends included).' });
    this.acked = metrics.counter({ name: 'records_acknowledged_total', help: 'Records acknowledged by Kafka (acks=all).' });
    this.failed = metrics.counter({ name: 'records_failed_total', help: 'Records whose send failed and was retried.' });
    this.latency = metrics.histogram({
      name: 'produce_latency_seconds',
      help: 'Time from send to acknowledgement of a batch.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    metrics.gauge({ name: 'target_rate_records_per_second', help: 'Configured rate (0: unlimited).' }).set(env.GENERATOR_RATE);
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
    this.loop
      .then((summary) => {
        this.logger.log(`run ${summary.runId} done: ${summary.acknowledged} records acknowledged in ${summary.seconds.toFixed(1)} s`);
        if (this.env.GENERATOR_EXIT_WHEN_DONE && !this.stopping) requestShutdown(0);
      })
      .catch((error: unknown) => {
        this.logger.error(`generation stopped: ${error instanceof Error ? error.message : String(error)}`);
        requestShutdown(1);
      });
  }

  /** SIGTERM: stop making records, let the batch in flight be acknowledged, report the count. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const summary = await this.loop;
    if (summary) this.logger.log(`stopped: run ${summary.runId}, ${summary.acknowledged} records acknowledged`);
  }

  /** Resolves when `count` records were acknowledged (never, for 0) or on shutdown. */
  whenDone(): Promise<RunSummary> {
    if (!this.loop) throw new Error('the generator has not started');
    return this.loop;
  }

  private async run(): Promise<RunSummary> {
    // The schedule starts once the producer knows the topic's partitions and leaders, so the first
    // records do not wait on a metadata round trip (an empty send loads them and writes nothing).
    await this.producer.producer.send({ topic: this.topics.input.name, messages: [] });
    const started = Date.now();
    const pacer = new RatePacer(this.env.GENERATOR_RATE, started, this.env.GENERATOR_SLICE_MS);
    const total = this.env.GENERATOR_COUNT;
    this.logger.log(`run ${this.runId}: ${total === 0 ? 'unlimited' : total} records at ${this.env.GENERATOR_RATE || 'max'} records/s`);
    while (!this.stopping && (total === 0 || this.acknowledged < total)) {
      const delay = pacer.delayBeforeNext(this.acknowledged, Date.now());
      if (delay > 0) await this.pause(delay);
      if (this.stopping) break;
      const now = Date.now();
      const size = Math.min(
        pacer.nextBatchSize(this.acknowledged, now, this.env.GENERATOR_BATCH_SIZE),
        total === 0 ? Infinity : total - this.acknowledged,
      );
      await this.sendUntilAcknowledged(this.nextBatch(size, (i) => Math.floor(pacer.dueAt(this.acknowledged + i) ?? now)));
    }
    return {
      runId: this.runId,
      acknowledged: this.acknowledged,
      failedAttempts: this.failedAttempts,
      seconds: (Date.now() - started) / 1000,
    };
  }

  /** The next `size` records; `producedAt(i)` stamps the i-th of them. */
  private nextBatch(size: number, producedAt: (i: number) => number): OutgoingRecord<WebLog>[] {
    return Array.from({ length: size }, (_, i) => {
      const log = this.factory.next();
      return {
        key: log.ip,
        value: log,
        headers: {
          [PipelineHeaders.runId]: this.runId,
          [PipelineHeaders.sequence]: String(this.acknowledged + i + 1),
          [PipelineHeaders.producedAt]: String(producedAt(i)),
        },
      };
    });
  }

  private async sendUntilAcknowledged(batch: OutgoingRecord<WebLog>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const endTimer = this.latency.startTimer();
      this.produced.inc(batch.length);
      try {
        await sendRecords(this.producer.producer, this.topics.input, batch);
        endTimer();
        this.acknowledged += batch.length;
        this.acked.inc(batch.length);
        return;
      } catch (error) {
        this.failed.inc(batch.length);
        this.failedAttempts++;
        // On shutdown an unacknowledged batch is given up: its sequences were never counted.
        if (this.stopping) return;
        this.logger.warn(
          `send of ${batch.length} records failed (attempt ${attempt}), retrying: ${error instanceof Error ? error.message : String(error)}`,
        );
        await this.pause(Math.min(5000, 200 * attempt));
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
