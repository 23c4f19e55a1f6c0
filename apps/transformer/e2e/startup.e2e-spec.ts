import { INVALID_STARTUP_ENV } from '@weblog/kafka-common/testing';
import { checkConfigRejected, checkStartsAndStops } from '@weblog/local-infra';

describe('transformer start-up', () => {
  it.each(INVALID_STARTUP_ENV)('stops with one line naming %s and exit 1 when it is invalid', (variable, overrides) => {
    expect(() => checkConfigRejected('transformer', variable, overrides)).not.toThrow();
  });

  it.each([['Mars/Olympus_Mons'], ['']])('stops with one line naming TRANSFORMER_TIMEZONE when it is %j', (zone) => {
    expect(() => checkConfigRejected('transformer', 'TRANSFORMER_TIMEZONE', { TRANSFORMER_TIMEZONE: zone })).not.toThrow();
  });

  it.each([['-1'], ['17'], ['1.5'], ['two']])('stops with one line naming TRANSFORMER_THREADS when it is %j', (threads) => {
    expect(() => checkConfigRejected('transformer', 'TRANSFORMER_THREADS', { TRANSFORMER_THREADS: threads })).not.toThrow();
  });

  it.each([['0'], ['many']])('stops with one line naming TRANSFORMER_THREAD_MIN_BATCH when it is %j', (size) => {
    expect(() => checkConfigRejected('transformer', 'TRANSFORMER_THREAD_MIN_BATCH', { TRANSFORMER_THREAD_MIN_BATCH: size })).not.toThrow();
  });

  it('becomes ready against real Kafka, serves metrics, and exits 0 on SIGTERM', async () => {
    await expect(checkStartsAndStops('transformer', 'transformer')).resolves.toBeUndefined();
  });
});
