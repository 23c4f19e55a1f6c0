import { Admin, Kafka, Producer } from 'kafkajs';
import { parseVerificationReport, PipelineHeaders, RunReport, VerificationReport } from '@weblog/kafka-common';
import {
  aTransformedWebLog,
  consumeAll,
  eventually,
  isolatedTopics,
  produceJson,
  testKafka,
  uniqueName,
} from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';

const RECORDS = 120;

/**
 * The verifier commits nothing, so every rejoin of its group (a member joining or leaving, a
 * coordinator move, a session timeout) hands it every partition from the beginning again. Those
 * redeliveries must not count as duplicates; a record produced twice still must.
 */
describe('verifier through rejoins of its consumer group', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('verifier-rejoin-e2e');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ idempotent: true });
    await producer.connect();
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  const record = (runId: string, seq: number) => ({
    key: `198.51.100.${seq % 7}`,
    value: aTransformedWebLog({ event_id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}` }),
    headers: {
      [PipelineHeaders.runId]: runId,
      [PipelineHeaders.sequence]: String(seq),
      [PipelineHeaders.producedAt]: String(Date.now()),
    },
  });

  /**
   * Another member joins the verifier's group, is given partitions, and leaves: two rebalances.
   * It reads nothing and commits nothing, so the group still has no offsets afterwards.
   */
  async function forceRejoin(groupId: string, topic: string): Promise<void> {
    const intruder = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
    let assigned = 0;
    intruder.on(intruder.events.GROUP_JOIN, ({ payload }) => {
      assigned = Object.values(payload.memberAssignment).reduce((sum, partitions) => sum + partitions.length, 0);
    });
    await intruder.connect();
    try {
      await intruder.subscribe({ topic, fromBeginning: true });
      await intruder.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: () => Promise.resolve() });
      await eventually(() => (assigned > 0 ? true : undefined), 60000);
    } finally {
      await intruder.disconnect();
    }
    await eventually(async () => {
      const { groups } = await admin.describeGroups([groupId]);
      const group = groups[0];
      return group?.state === 'Stable' && group.members.length === 1 ? true : undefined;
    }, 60000);
  }

  const read = async (verifier: ServiceProcess): Promise<VerificationReport> =>
    parseVerificationReport((await verifier.get('/report')).text);
  const runOf = (report: VerificationReport, runId: string): RunReport | undefined => report.runs.find((r) => r.runId === runId);

  it('counts each record once after rejoins hand it every partition again, and still counts a record produced twice', async () => {
    const topics = isolatedTopics('verifier-rejoin');
    const groupId = uniqueName('verifier');
    const runId = uniqueName('run');
    const verifier = await ServiceProcess.start('verifier', { ...topics.env, VERIFIER_GROUP_ID: groupId, LOG_LEVEL: 'log' });
    services.push(verifier);
    await verifier.ready();

    const records = Array.from({ length: RECORDS }, (_, i) => record(runId, i + 1));
    await produceJson(producer, topics.output, [...records.slice(0, 60), { key: null, value: { not: 'a web log' } }, ...records.slice(60)]);
    const first = await eventually(async () => {
      const report = await read(verifier);
      return runOf(report, runId)?.unique === RECORDS && report.invalid === 1 ? report : undefined;
    }, 60000);
    expect(runOf(first, runId)).toMatchObject({ expected: RECORDS, received: RECORDS, duplicates: 0, missing: 0 });

    await forceRejoin(groupId, topics.output);
    // Every record of the topic came again after the last rebalance: none was committed.
    const afterRejoin = await eventually(async () => {
      const report = await read(verifier);
      return report.verified + report.invalid + report.redelivered >= 2 * (RECORDS + 1) ? report : undefined;
    }, 60000);
    expect(runOf(afterRejoin, runId)).toMatchObject({ expected: RECORDS, received: RECORDS, unique: RECORDS, duplicates: 0, missing: 0 });
    expect(afterRejoin).toMatchObject({ verified: RECORDS, invalid: 1 });
    expect(afterRejoin.redelivered).toBeGreaterThanOrEqual(RECORDS + 1);
    // A redelivered bad record is not dead-lettered a second time.
    expect(await consumeAll(kafka, topics.deadLetter)).toHaveLength(1);

    // The same record produced again: another offset, so a duplicate, and only one through a further rejoin.
    await produceJson(producer, topics.output, [record(runId, 7)]);
    const duplicated = await eventually(async () => {
      const report = await read(verifier);
      return runOf(report, runId)?.received === RECORDS + 1 ? report : undefined;
    }, 60000);
    expect(runOf(duplicated, runId)).toMatchObject({ received: RECORDS + 1, unique: RECORDS, duplicates: 1, missing: 0 });

    const redeliveredBefore = duplicated.redelivered;
    await forceRejoin(groupId, topics.output);
    const final = await eventually(async () => {
      const report = await read(verifier);
      return report.redelivered >= redeliveredBefore + RECORDS + 2 ? report : undefined;
    }, 60000);
    expect(final).toMatchObject({ verified: RECORDS + 1, invalid: 1 });
    expect(runOf(final, runId)).toMatchObject({ expected: RECORDS, received: RECORDS + 1, unique: RECORDS, duplicates: 1, missing: 0 });
  });
});
