import { Kafka } from 'kafkajs';
import { parseAuditReport, parseVerificationReport } from '@weblog/kafka-common';
import {
  caughtUp,
  eventually,
  HighWatermarkAdmin,
  highWatermarkAdmin,
  isolatedTopics,
  metricValue,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';

const RECORDS = 20000;

/**
 * The whole fleet as separate processes against real Kafka and S3: the generator sends 20,000
 * records, the transformer is SIGKILLed once in the middle and restarted, and the verifier and the
 * S3 audit must account for every record.
 */
describe('the whole pipeline', () => {
  let kafka: Kafka;
  let admin: HighWatermarkAdmin;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('fleet-e2e');
    admin = highWatermarkAdmin(kafka);
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  async function start(app: string, env: Record<string, string>): Promise<ServiceProcess> {
    const service = await ServiceProcess.start(app, env);
    services.push(service);
    return service;
  }

  it.each(['exactly-once', 'at-least-once'])(
    'delivers 20,000 records with 0 missing through a transformer crash (%s), and S3 holds each exactly once',
    async (mode) => {
      const topics = isolatedTopics(`fleet-${mode}`);
      const id = uniqueName('fleet');
      const shared = { ...topics.env, ARCHIVER_TOPICS_DIR: id, VERIFIER_ARCHIVE_TOPICS_DIR: id, S3_BUCKET: 'weblog-archive' };
      const transformerEnv = {
        ...shared,
        TRANSFORMER_MODE: mode,
        TRANSFORMER_GROUP_ID: `${id}-transformer`,
        TRANSFORMER_TRANSACTIONAL_ID_PREFIX: id,
      };
      const verifier = await start('verifier', { ...shared, VERIFIER_GROUP_ID: `${id}-verifier`, VERIFIER_AUDIT_ENABLED: 'true' });
      const archiver = await start('s3-archiver', { ...shared, ARCHIVER_GROUP_ID: `${id}-archiver`, ARCHIVER_ROTATE_INTERVAL_MS: '1000' });
      let transformer = await start('transformer', transformerEnv);
      await Promise.all([verifier.ready(), archiver.ready(), transformer.ready()]);
      const generator = await start('weblog-generator', {
        ...shared,
        GENERATOR_COUNT: String(RECORDS),
        GENERATOR_RATE: '2000',
        GENERATOR_RUN_ID: id,
        GENERATOR_EXIT_WHEN_DONE: 'true',
        LOG_LEVEL: 'log',
      });

      await eventually(
        async () =>
          metricValue((await transformer.get('/metrics')).text, 'weblog_transformer_records_transformed_total') >= 6000 ? true : undefined,
        60000,
      );
      await transformer.kill();
      transformer = await start('transformer', transformerEnv);
      await transformer.ready();
      expect(await generator.waitForExit(120000)).toBe(0);

      const run = await eventually(async () => {
        const report = parseVerificationReport((await verifier.get('/report')).text);
        const found = report.runs.find((r) => r.runId === id);
        return found && found.unique >= RECORDS ? found : undefined;
      }, 120000);
      expect(run).toMatchObject({ expected: RECORDS, unique: RECORDS, missing: 0, outOfOrder: 0 });
      if (mode === 'exactly-once') expect(run.duplicates).toBe(0);
      expect(run.latencyMs.count).toBe(run.unique + run.duplicates);

      await eventually(() => caughtUp(admin, `${id}-archiver`, topics.output), 120000);
      const audit = parseAuditReport(await (await fetch(`${verifier.url}/audit`, { method: 'POST' })).text());
      expect(audit).toMatchObject({
        ok: true,
        missingInS3: 0,
        duplicatedInS3: 0,
        unexpectedInS3: 0,
        topicRecords: RECORDS + run.duplicates,
      });

      const metrics = {
        transformer: (await transformer.get('/metrics')).text,
        archiver: (await archiver.get('/metrics')).text,
        verifier: (await verifier.get('/metrics')).text,
      };
      expect(metricValue(metrics.transformer, 'weblog_transformer_records_transformed_total')).toBeGreaterThan(0);
      expect(metrics.transformer).toContain('weblog_transformer_consumer_lag_records');
      expect(metricValue(metrics.archiver, 'weblog_archiver_objects_uploaded_total')).toBeGreaterThan(0);
      expect(metrics.archiver).toContain('weblog_archiver_upload_duration_seconds_bucket');
      expect(metricValue(metrics.verifier, 'weblog_verifier_records_verified_total')).toBe(RECORDS + run.duplicates);
      expect(metrics.verifier).toContain(`weblog_verifier_run_missing_records{run="${id}",service="verifier"} 0`);
      expect(metrics.verifier).toContain('weblog_verifier_end_to_end_latency_seconds_bucket');
      expect(generator.logs).toContain(`run ${id} done: ${RECORDS} records acknowledged`);
    },
    400000,
  );
});
