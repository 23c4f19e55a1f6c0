import { INVALID_STARTUP_ENV } from '@weblog/kafka-common/testing';
import { checkConfigRejected, checkStartsAndStops } from '@weblog/local-infra';

describe('verifier start-up', () => {
  it.each(INVALID_STARTUP_ENV)('stops with one line naming %s and exit 1 when it is invalid', (variable, overrides) => {
    expect(() => checkConfigRejected('verifier', variable, overrides)).not.toThrow();
  });

  it('becomes ready against real Kafka, serves metrics, and exits 0 on SIGTERM', async () => {
    await expect(checkStartsAndStops('verifier', 'verifier')).resolves.toBeUndefined();
  });
});
