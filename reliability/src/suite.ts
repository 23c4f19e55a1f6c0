import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Producer } from 'kafkajs';
import { createSafeProducer, highWatermarkAdmin, HighWatermarkAdmin } from '@weblog/kafka-common';
import { LocalInfra, startLocalInfra } from '@weblog/local-infra';
import { Profile, runScenario, Scenario, ScenarioResult } from './scenarios';

/**
 * Kafka nodes the suite runs on by default: a cluster of three, as in production, whose services
 * create their topics with 3 replicas and a minimum of 2 in sync (the infra's env says so).
 */
export const SUITE_KAFKA_NODES = 3;

/**
 * A Kafka cluster and an S3 server of the suite's own, never ones named by KAFKA_BROKERS or
 * S3_ENDPOINT: the scenarios kill and stop them.
 */
export async function privateInfra(log: (line: string) => void, kafkaNodes = SUITE_KAFKA_NODES): Promise<LocalInfra> {
  const saved = { brokers: process.env['KAFKA_BROKERS'], endpoint: process.env['S3_ENDPOINT'] };
  delete process.env['KAFKA_BROKERS'];
  delete process.env['S3_ENDPOINT'];
  try {
    return await startLocalInfra({ buckets: ['weblog-archive'], log, kafkaNodes });
  } finally {
    if (saved.brokers !== undefined) process.env['KAFKA_BROKERS'] = saved.brokers;
    if (saved.endpoint !== undefined) process.env['S3_ENDPOINT'] = saved.endpoint;
  }
}

export interface SuiteRun {
  readonly profile: Profile['name'];
  readonly seed: number;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly memoryGiB: number; readonly node: string; readonly platform: string };
  readonly scenarios: ScenarioResult[];
}

/** Clients of the suite itself (ledger reads, probes, the bad-input producer). */
export class SuiteClients {
  readonly kafka: Kafka;
  readonly admin: HighWatermarkAdmin;
  readonly producer: Producer;

  constructor(readonly infra: LocalInfra) {
    this.kafka = new Kafka({ clientId: 'reliability', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
    this.admin = highWatermarkAdmin(this.kafka);
    this.producer = createSafeProducer(this.kafka);
  }

  async connect(): Promise<void> {
    await Promise.all([this.admin.connect(), this.producer.connect()]);
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([this.admin.disconnect(), this.producer.disconnect()]);
  }

  run(scenario: Scenario, profile: Profile, seed: number, log?: (line: string) => void): Promise<ScenarioResult> {
    const logDir = path.resolve(__dirname, '../../.weblog/reliability/logs');
    return runScenario(
      scenario,
      { infra: this.infra, kafka: this.kafka, admin: this.admin, producer: this.producer, logDir },
      profile,
      seed,
      log,
    );
  }
}

export function describeMachine(): SuiteRun['machine'] {
  return {
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

export function writeResults(file: string, run: SuiteRun): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
}

const cell = (value: number) => (value < 0 ? 'n/a' : value.toLocaleString('en-US'));

/** The results as a Markdown table: one row per scenario. */
export function resultsTable(run: SuiteRun): string {
  const header = [
    'Scenario',
    'Mode',
    'Generated',
    'Verified',
    'Missing (topic / S3)',
    'Duplicated (output / S3)',
    'Dead-lettered',
    'Recovery (s)',
    'Peak RSS MiB (gen / trans / arch / ver)',
    'Result',
  ];
  const rows = run.scenarios.map((r) => [
    r.scenario,
    r.mode,
    cell(r.generated),
    cell(r.verified),
    // As the judge counts it: a killed generator's sequences that were never written are no loss.
    `${cell(Math.max(r.missing, r.verifierMissing - r.neverWritten))} / ${cell(r.missingInS3)}`,
    `${cell(r.duplicatedOutput)} / ${cell(r.duplicatedInS3)}`,
    r.badSent > 0 ? `${cell(r.deadLettered)} of ${cell(r.badSent)} bad (${r.badKinds} kinds)` : cell(r.deadLettered),
    r.recoverySeconds === null ? 'n/a' : r.recoverySeconds.toFixed(1),
    [r.peakRssMiB['weblog-generator'], r.peakRssMiB.transformer, r.peakRssMiB['s3-archiver'], r.peakRssMiB.verifier].join(' / '),
    r.failures.length === 0 ? 'pass' : `FAIL (${r.failures.length})`,
  ]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
