import { decode, headerNumber, headerText, PipelineHeaders, WebLogContract } from '@weblog/kafka-common';
import { consumeRecords, consumeUntil, eventually, isolatedTopics, metricValue, testKafka } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';

const ACKNOWLEDGED = 'weblog_generator_records_acknowledged_total';

describe('weblog-generator against real Kafka', () => {
  const kafka = testKafka('generator-e2e');

  it('sends N valid records keyed by ip, with sequences 1..N and no gaps, then exits 0 (one-shot)', async () => {
    const topics = isolatedTopics('generator');
    const count = 3000;
    const service = await ServiceProcess.start('weblog-generator', {
      ...topics.env,
      GENERATOR_COUNT: String(count),
      GENERATOR_RATE: '0',
      GENERATOR_BATCH_SIZE: '250',
      GENERATOR_SEED: '1234',
      GENERATOR_RUN_ID: 'seeded-run',
      GENERATOR_EXIT_WHEN_DONE: 'true',
    });
    expect(await service.waitForExit(60000)).toBe(0);
    const records = await consumeRecords(kafka, topics.input, count);
    const sequences = records.map((r) => headerNumber(r.message.headers, PipelineHeaders.sequence)).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(sequences).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    for (const { message } of records) {
      const decoded = decode(WebLogContract, message.value);
      if (!decoded.ok) throw new Error(decoded.detail);
      expect(message.key?.toString()).toBe(decoded.value.ip);
      expect(headerText(message.headers, PipelineHeaders.runId)).toBe('seeded-run');
      expect(headerNumber(message.headers, PipelineHeaders.producedAt)).toBeGreaterThan(0);
    }
  });

  it('loses no acknowledged record when SIGTERM arrives in the middle of a run', async () => {
    const topics = isolatedTopics('generator-sigterm');
    const service = await ServiceProcess.start('weblog-generator', {
      ...topics.env,
      GENERATOR_RATE: '5000',
      GENERATOR_BATCH_SIZE: '100',
      LOG_LEVEL: 'log',
    });
    await service.ready();
    await eventually(async () => (metricValue((await service.get('/metrics')).text, ACKNOWLEDGED) >= 2000 ? true : undefined));
    expect(await service.stop()).toBe(0);
    const reported = /stopped: run \S+, (\d+) records acknowledged/.exec(service.logs);
    expect(reported).not.toBeNull();
    const acknowledged = Number(reported?.[1]);
    expect(acknowledged).toBeGreaterThanOrEqual(2000);
    // Every acknowledged sequence must be in the topic; consumeUntil fails on timeout if one is not.
    const wanted = new Set(Array.from({ length: acknowledged }, (_, i) => i + 1));
    await consumeUntil(kafka, topics.input, ({ message }) => {
      wanted.delete(headerNumber(message.headers, PipelineHeaders.sequence) ?? 0);
      return wanted.size === 0;
    });
    expect(wanted.size).toBe(0);
  });
});
