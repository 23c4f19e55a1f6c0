import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import { KafkaMessage } from 'kafkajs';
import { parseEnv, s3EnvShape, serviceEnv, TransformedWebLog } from '@weblog/kafka-common';
import { aTransformedWebLog, uniqueName } from '@weblog/kafka-common/testing';
import { archiveLine } from './archive-line';
import { listArchive, readArchiveObject } from './archive-reader';
import { ArchiveStore, createS3Client, IncarnationMismatch, PutOutcome } from './archive-store';
import { KeyFormat, objectKey } from './object-key';

const BUCKET = 'weblog-archive';

function s3Env(overrides: Record<string, string> = {}) {
  return parseEnv(serviceEnv({ ...s3EnvShape }), { ...process.env, S3_BUCKET: BUCKET, ...overrides });
}

function newStore(onIncarnationMismatch?: (mismatch: IncarnationMismatch) => void): ArchiveStore {
  return new ArchiveStore(createS3Client(s3Env()), BUCKET, {}, onIncarnationMismatch ? { onIncarnationMismatch } : {});
}

function message(offset: number): KafkaMessage {
  return { offset: String(offset), timestamp: '1700000000000', key: null, value: null, headers: {}, attributes: 0 };
}

/** Records of one incarnation of a partition: its own event ids at offsets from `first`. */
function records(count: number, label: string): TransformedWebLog[] {
  return Array.from({ length: count }, (_, i) => aTransformedWebLog({ url: `/${label.toUpperCase()}/${i}` }));
}

describe('ArchiveStore against the real S3 server', () => {
  describe('a key that already holds another incarnation of the partition', () => {
    const topic = uniqueName('incarnation');
    const topicsDir = uniqueName('archive');
    const format = (gzip: boolean): KeyFormat => ({ layout: 'offset', topicsDir, naming: 'archiver', zeroPadWidth: 10, gzip });

    const put = (
      store: ArchiveStore,
      partition: number,
      first: number,
      values: readonly TransformedWebLog[],
      withMetadata = true,
    ): Promise<PutOutcome> =>
      store.putIfAbsent(
        objectKey(format(false), { topic, partition, firstOffset: BigInt(first) }, ''),
        values.map((value, i) => archiveLine(topic, partition, message(first + i), value, withMetadata)),
        { topic, partition, firstOffset: BigInt(first), lastOffset: BigInt(first + values.length - 1), recordCount: values.length },
        false,
      );

    it('writes the new records under the next generation, says so and counts it; the same records again are a plain conflict', async () => {
      const old = records(20, 'old');
      const recreated = records(15, 'new');
      const first = newStore();
      expect((await put(first, 0, 0, old.slice(0, 10))).created).toBe(true);
      expect((await put(first, 0, 10, old.slice(10, 20))).created).toBe(true);

      const mismatches: IncarnationMismatch[] = [];
      const second = newStore((mismatch) => mismatches.push(mismatch));
      const gen0Key = objectKey(format(false), { topic, partition: 0, firstOffset: 0n }, '');
      const outcome = await put(second, 0, 0, recreated.slice(0, 5));
      expect(outcome.created).toBe(true);
      expect(outcome.generation).toBe(1);
      expect(outcome.key).not.toBe(gen0Key);
      expect(mismatches).toEqual([{ key: gen0Key, topic, partition: 0, firstOffset: 0n, generation: 1 }]);

      // The same records once more (a retry after a crash): already archived, nothing new written.
      const again = await put(second, 0, 0, recreated.slice(0, 5));
      expect(again).toMatchObject({ created: false, generation: 1, key: outcome.key, existing: { firstOffset: 0n, lastOffset: 4n } });
      expect(mismatches).toHaveLength(1);

      // A restart: a new store resumes at a later offset and stays in the newest generation, even
      // at an offset where generation 0 holds the old incarnation's object and where it holds none.
      const restarted = newStore((mismatch) => mismatches.push(mismatch));
      expect(await put(restarted, 0, 5, recreated.slice(5, 10))).toMatchObject({ created: true, generation: 1 });
      expect(await put(restarted, 0, 10, recreated.slice(10, 15))).toMatchObject({ created: true, generation: 1 });
      expect(mismatches).toHaveLength(1);

      const archive = (await listArchive(restarted, topicsDir, topic)).get(0) ?? [];
      expect(archive.map((o) => [o.generation, Number(o.firstOffset)])).toEqual([
        [0, 0],
        [0, 10],
        [1, 0],
        [1, 5],
        [1, 10],
      ]);
      const ids = async (generation: number) => {
        const result: string[] = [];
        for (const object of archive.filter((o) => o.generation === generation)) {
          const read = await readArchiveObject(restarted, object);
          expect(read.problems).toEqual([]);
          expect(read.records.every((r) => r.generation === generation)).toBe(true);
          result.push(...read.records.map((r) => r.value.event_id));
        }
        return result;
      };
      expect(await ids(0)).toEqual(old.map((v) => v.event_id));
      expect(await ids(1)).toEqual(recreated.map((v) => v.event_id));
    });

    it('compares bare lines (no offsets) by their event ids in order', async () => {
      const old = records(6, 'bare-old');
      const recreated = records(4, 'bare-new');
      expect((await put(newStore(), 1, 0, old, false)).created).toBe(true);
      const store = newStore();
      // A shorter object of the same incarnation (another rotate boundary) is the same records.
      expect((await put(store, 1, 0, old.slice(0, 3), false)).created).toBe(false);
      const recreatedOutcome = await put(store, 1, 0, recreated, false);
      expect(recreatedOutcome.created).toBe(true);
      expect(recreatedOutcome.generation).toBe(1);
    });
  });

  describe('an S3 server that accepts connections and never answers', () => {
    let hung: TcpServer;
    const sockets: Socket[] = [];

    beforeAll(async () => {
      hung = createTcpServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    });

    it('fails putIfAbsent within the configured bound instead of hanging', async () => {
      const { port } = hung.address() as AddressInfo;
      const env = {
        ...s3Env({ S3_ENDPOINT: `http://127.0.0.1:${port}`, S3_FORCE_PATH_STYLE: 'true' }),
        S3_CONNECTION_TIMEOUT_MS: 1000,
        S3_REQUEST_TIMEOUT_MS: 1000,
        S3_MAX_ATTEMPTS: 2,
      };
      const store = new ArchiveStore(createS3Client(env), BUCKET);
      const topic = uniqueName('hung');
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        store
          .putIfAbsent(
            `topics/${topic}/partition=0/${topic}+0+00000000000000000000.jsonl`,
            [Buffer.from('{}\n')],
            { topic, partition: 0, firstOffset: 0n, lastOffset: 0n, recordCount: 1 },
            false,
          )
          .then(
            () => 'answered',
            (error: unknown) => `failed: ${error instanceof Error ? error.name : String(error)}`,
          ),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting after 20 s'), 20000))),
      ]).finally(() => clearTimeout(timer));
      const seconds = (Date.now() - started) / 1000;
      expect(outcome).toMatch(/^failed: /);
      // Two attempts of at most 1 s each, plus the SDK's backoff between them.
      expect(seconds).toBeLessThan(8);
      expect(sockets.length).toBeGreaterThanOrEqual(1);
    });
  });
});
