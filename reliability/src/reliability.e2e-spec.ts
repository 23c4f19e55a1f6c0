import path from 'node:path';
import { LocalInfra } from '@weblog/local-infra';
import { PROFILES, ScenarioResult, scenariosOf } from './scenarios';
import { describeMachine, privateInfra, SuiteClients, writeResults } from './suite';

/**
 * The short profile of the reliability suite: its scenarios, smaller, against a broker and an S3
 * server of its own (they get killed). The long one is `npm run reliability`.
 */
describe('reliability (short profile)', () => {
  let infra: LocalInfra;
  let clients: SuiteClients;
  const results: ScenarioResult[] = [];
  const startedAt = new Date().toISOString();

  beforeAll(async () => {
    infra = await privateInfra(() => undefined);
    clients = new SuiteClients(infra);
    await clients.connect();
  }, 300000);

  afterAll(async () => {
    await clients?.disconnect();
    await infra?.stop();
    writeResults(path.resolve(__dirname, '../../.weblog/reliability/short.json'), {
      profile: 'short',
      seed: 1,
      startedAt,
      machine: describeMachine(),
      scenarios: results,
    });
  });

  it.each(scenariosOf('short').map((s, i) => [s.name, s, i] as const))(
    '%s: nothing lost, nothing duplicated where the guarantee forbids it, bad records dead-lettered',
    async (_name, scenario, i) => {
      const result = await clients.run(scenario, PROFILES.short, 1 + i);
      results.push(result);
      expect(result.failures).toEqual([]);
      expect(result.generated).toBeGreaterThan(0);
    },
    600000,
  );
});
