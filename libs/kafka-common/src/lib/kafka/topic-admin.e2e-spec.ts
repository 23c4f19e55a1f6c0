import { Admin, Kafka, Producer } from 'kafkajs';
import { testKafka, uniqueName } from '../../testing';
import { ensureTopics } from './topic-admin';

const PARTITIONS = 24;

describe('ensureTopics against a real broker', () => {
  let kafka: Kafka;
  let admins: Admin[];
  let producer: Producer;

  beforeAll(async () => {
    kafka = testKafka('topic-admin-e2e');
    admins = [kafka.admin(), kafka.admin(), kafka.admin()];
    // No retries: a send to a partition without a leader yet fails instead of being retried away.
    producer = kafka.producer({ retry: { retries: 0 } });
    await Promise.all([...admins.map((a) => a.connect()), producer.connect()]);
  });

  afterAll(async () => {
    await Promise.all([...admins.map((a) => a.disconnect()), producer.disconnect()]);
  });

  it('returns to every caller only once every partition has a leader, also to those that lost the race to create it', async () => {
    for (let round = 0; round < 3; round++) {
      const name = uniqueName('ensure-race');
      // Services start together and each makes sure the pipeline's topics exist.
      await Promise.all(admins.map((admin) => ensureTopics(admin, [{ name, partitions: PARTITIONS, replicationFactor: 1 }])));
      const messages = Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `p${partition}` }));
      await expect(producer.send({ topic: name, acks: -1, messages })).resolves.toHaveLength(PARTITIONS);
    }
  });
});
