import { isolatedTopics, uniqueName } from '@weblog/kafka-common/testing';
import { ServiceProcess } from '@weblog/local-infra';
import { ArchiveStore, createS3Client } from '@weblog/s3-archive';
import { parseEnv, s3EnvShape, serviceEnv } from '@weblog/kafka-common';
import { testStore } from './archive-helpers';
import { ignoringS3Server, IgnoringS3Server } from './ignoring-s3-server';

const VARIABLE = 'ARCHIVER_ALLOW_UNCONDITIONAL_WRITES';

describe('s3-archiver and stores that ignore If-None-Match', () => {
  let ignoring: IgnoringS3Server;
  let archiver: ServiceProcess | undefined;

  beforeAll(async () => {
    ignoring = await ignoringS3Server();
  });

  afterEach(async () => {
    await archiver?.kill();
    archiver = undefined;
  });

  afterAll(async () => {
    await ignoring.close();
  });

  it('the probe finds the real S3 server honours the condition and leaves nothing behind', async () => {
    const store = testStore();
    const prefix = `${uniqueName('archive')}/`;
    await expect(store.probeConditionalWrites(prefix)).resolves.toBe(true);
    const left: string[] = [];
    for await (const object of store.list(prefix)) left.push(object.key);
    expect(left).toEqual([]);
  });

  it('the probe finds a server that ignores the condition, and deletes its probe object', async () => {
    const env = parseEnv(serviceEnv({ ...s3EnvShape }), {
      ...process.env,
      S3_ENDPOINT: ignoring.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_BUCKET: 'weblog-archive',
    });
    const store = new ArchiveStore(createS3Client(env), 'weblog-archive');
    const before = ignoring.puts;
    await expect(store.probeConditionalWrites('topics/')).resolves.toBe(false);
    expect(ignoring.puts - before).toBe(2);
    expect([...ignoring.objects.keys()]).toEqual([]);
  });

  it(`refuses to start against such a server with one line naming ${VARIABLE}`, async () => {
    archiver = await ServiceProcess.start('s3-archiver', {
      ...isolatedTopics('unconditional').env,
      S3_ENDPOINT: ignoring.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      // The runtime's own warnings are not the service's output, which is what this judges.
      NODE_NO_WARNINGS: '1',
    });
    expect(await archiver.waitForExit(60000)).toBe(1);
    const lines = archiver.logs.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${VARIABLE} `));
  });

  it(`runs against such a server with a warning when ${VARIABLE}=true`, async () => {
    archiver = await ServiceProcess.start('s3-archiver', {
      ...isolatedTopics('unconditional-allowed').env,
      S3_ENDPOINT: ignoring.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      [VARIABLE]: 'true',
    });
    await archiver.ready();
    expect(archiver.logs).toContain(VARIABLE);
    expect(archiver.logs).toMatch(/If-None-Match/);
    expect(await archiver.stop()).toBe(0);
  });

  it('starts against the real S3 server without that warning', async () => {
    archiver = await ServiceProcess.start('s3-archiver', isolatedTopics('conditional').env);
    await archiver.ready();
    expect(archiver.logs).not.toContain(VARIABLE);
    expect(await archiver.stop()).toBe(0);
  });
});
