import { isolatedTopics, runServiceToExit, serviceEnvironment, ServiceProcess } from '@weblog/kafka-common/testing';

describe('verifier start-up', () => {
  it.each([
    ['KAFKA_BROKERS', { KAFKA_BROKERS: 'no-port-here' }],
    ['KAFKA_BROKERS', { KAFKA_BROKERS: '' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
  ])('stops with one line naming %s and a non-zero exit when it is invalid', (variable, overrides) => {
    const result = runServiceToExit('verifier', serviceEnvironment(overrides));
    const lines = result.stderr.trim().split('\n');
    expect(result.status).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });

  it('becomes ready against real Kafka, serves metrics, and exits cleanly on SIGTERM', async () => {
    const service = await ServiceProcess.start('verifier', isolatedTopics('verifier-startup').env);
    try {
      await service.ready();
      expect((await service.get('/health/live')).status).toBe(200);
      const metrics = await service.get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('process_cpu_user_seconds_total{service="verifier"}');
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });
});
