import { KafkaBatch, KafkaBatchContext, MetricsService } from '@weblog/kafka-common';
import { aTransformedWebLog } from '@weblog/kafka-common/testing';
import { ArchiveStore, PutOutcome } from '@weblog/s3-archive';
import { resolveArchiverEnv } from '../archiver.env';
import { ArchiverMetrics } from './archiver.metrics';
import { PartitionArchive } from './partition-archive';
import { RecordFiling } from './record-filing';
import { UploadSlots } from './upload-slots';

const env = resolveArchiverEnv({ KAFKA_BROKERS: '127.0.0.1:9092' });
const metrics = new ArchiverMetrics(new MetricsService({ service: 'partition-archive-spec' }));

/** A store whose writes wait until `open` is called, then all succeed or all fail. */
function gatedStore(outcome: 'created' | Error) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const putIfAbsent = async (key: string): Promise<PutOutcome> => {
    await gate;
    if (outcome instanceof Error) throw outcome;
    return { created: true, key, generation: 0 };
  };
  return { store: { putIfAbsent } as unknown as ArchiveStore, open };
}

/** One upload slot: a partition may hold twice that in windows before a batch waits. */
function archiveOver(store: ArchiveStore): PartitionArchive {
  return new PartitionArchive('output', 0, {
    store,
    metrics,
    filing: new RecordFiling(env),
    keyFormat: { layout: 'offset', topicsDir: 'topics', naming: 'archiver', zeroPadWidth: 10, gzip: false },
    policy: { flushSize: 10, rotateIntervalMs: 60000, rotateScheduleIntervalMs: 0, localTime: (t) => t },
    slots: new UploadSlots(1),
    overMemory: () => false,
    uploaded: () => undefined,
  });
}

function batchOf(from: number, count: number): [KafkaBatch, KafkaBatchContext] {
  const value = Buffer.from(JSON.stringify(aTransformedWebLog()));
  const messages = Array.from({ length: count }, (_, i) => ({
    key: null,
    value,
    timestamp: String(Date.now()),
    attributes: 0,
    offset: String(from + i),
    headers: {},
  }));
  const last = String(from + count - 1);
  const batch: KafkaBatch = { topic: 'output', partition: 0, messages, firstOffset: String(from), lastOffset: last, highWatermark: last };
  const host = {
    groupId: 'spec',
    consumerName: 'spec',
    heartbeat: () => Promise.resolve(),
    isStale: () => false,
    durability: () => () => Promise.resolve(),
    deadLetter: () => Promise.resolve(),
  };
  return [batch, new KafkaBatchContext([batch, host])];
}

describe('PartitionArchive, a batch over its window limit', () => {
  it('goes on once the partition holds no more than its limit, with what is written by then durable', async () => {
    const { store, open } = gatedStore('created');
    const archive = archiveOver(store);
    await archive.take(...batchOf(0, 50));
    const next = archive.take(...batchOf(50, 10));
    open();
    // Five windows of 10 against a limit of two: it goes on when three are written.
    await expect(next).resolves.toEqual({ durableBelow: 30n });
  });

  it("fails with S3's error once the writes before it failed, instead of waiting for a write that never ends", async () => {
    const { store, open } = gatedStore(new Error('S3 is down'));
    const archive = archiveOver(store);
    await archive.take(...batchOf(0, 50));
    const next = archive.take(...batchOf(50, 10));
    open();
    await expect(next).rejects.toThrow('S3 is down');
  });
});
