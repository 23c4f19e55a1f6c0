import { Admin } from 'kafkajs';
import { S3Client } from '@aws-sdk/client-s3';
import { parseEnv, s3EnvShape, serviceEnv } from '@weblog/kafka-common';
import { committedOffsets } from '@weblog/kafka-common/testing';
import { LocalInfra, startLocalInfra } from '@weblog/local-infra';
import { ArchiveStore, createS3Client, listArchive, readArchiveObject, RestoredRecord } from '@weblog/s3-archive';

/** The archive bucket the launcher created, through the same client code the services use. */
export function testStore(bucket = 'weblog-archive'): ArchiveStore {
  const env = parseEnv(serviceEnv({ ...s3EnvShape }), { ...process.env, S3_BUCKET: bucket });
  return new ArchiveStore(createS3Client(env), bucket);
}

/** An S3 server of the test's own (beside the shared Kafka), so stopping it disturbs no other test. */
export async function privateS3(): Promise<LocalInfra> {
  const shared = process.env['S3_ENDPOINT'];
  delete process.env['S3_ENDPOINT'];
  try {
    return await startLocalInfra({ buckets: ['weblog-archive'] });
  } finally {
    process.env['S3_ENDPOINT'] = shared;
  }
}

/** The archive bucket of a private S3 server. */
export function privateStore(infra: LocalInfra): ArchiveStore {
  const { endpoint, accessKeyId, secretAccessKey } = infra.s3;
  return new ArchiveStore(
    new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } }),
    'weblog-archive',
  );
}

export interface ArchiveContents {
  readonly objects: { key: string; partition: number; records: RestoredRecord[] }[];
  readonly records: RestoredRecord[];
  readonly problems: number;
}

/** Everything archived for a topic, partitions in offset order. */
export async function readArchive(store: ArchiveStore, topicsDir: string, topic: string): Promise<ArchiveContents> {
  const objects: ArchiveContents['objects'] = [];
  let problems = 0;
  for (const list of (await listArchive(store, topicsDir, topic)).values()) {
    for (const object of list) {
      const read = await readArchiveObject(store, object);
      problems += read.problems.length;
      objects.push({ key: object.key, partition: object.partition, records: read.records });
    }
  }
  return { objects, records: objects.flatMap((o) => o.records), problems };
}

/** Event ids seen more than once, and expected ids never seen. */
export function differences(expected: readonly string[], records: readonly RestoredRecord[]): { missing: string[]; duplicated: string[] } {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(record.value.event_id, (counts.get(record.value.event_id) ?? 0) + 1);
  return {
    missing: expected.filter((id) => !counts.has(id)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
  };
}

export async function groupCommitted(admin: Admin, groupId: string, topic: string, partition: number): Promise<number> {
  return (await committedOffsets(admin, groupId, topic)).get(partition) ?? -1;
}
