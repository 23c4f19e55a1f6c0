import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ArchiveStore } from '@weblog/s3-archive';
import { ComposeS3Server, prepareComposeS3Server, S3Identity, VersitygwArtifacts } from '../compose-s3-server';
import { freePorts } from '../ports';
import { createRunDir } from '../run-dir';
import { defaultLog } from '../settings';
import { Compose } from './compose-checks';
import { readYaml, repoFile } from './deploy-checks';

const BUCKET = 'weblog-archive';
const OTHER_BUCKET = 'weblog-elsewhere';
/** The access key ids the compose `credentials` job writes and the bucket policy grants to. */
const ARCHIVER = 'weblog-archiver';
const VERIFIER = 'weblog-verifier';

/** The settings createS3Client gives the services, with an identity of our choosing. */
function clientFor(endpoint: string, identity: S3Identity): S3Client {
  return new S3Client({ region: 'us-east-1', forcePathStyle: true, endpoint, credentials: identity, maxAttempts: 1 });
}

/** The HTTP status an S3 call ends with, whether it succeeded or not. */
async function statusOf(call: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<number | undefined> {
  try {
    return (await call).$metadata.httpStatusCode;
  } catch (error) {
    if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode;
    throw error;
  }
}

/**
 * The S3 server docker-compose.yaml runs, built from the same release and started with the `s3`
 * service's own environment, set up as the `s3-users` and `s3-bucket` jobs set it up.
 */
describe('the compose S3 gateway, run from its release with the compose configuration', () => {
  let artifacts: VersitygwArtifacts;
  let server: ComposeS3Server;
  let runDir: string;
  let admin: S3Client;
  let archiver: S3Client;
  let verifier: S3Client;
  let stranger: S3Client;
  const identities: Record<string, S3Identity> = {};

  beforeAll(async () => {
    artifacts = await prepareComposeS3Server();
    const compose = readYaml<Compose>('docker-compose.yaml');
    const environment = Object.fromEntries(
      Object.entries(compose.services['s3']?.environment ?? {}).map(([key, value]) => [key, value ?? '']),
    );
    runDir = (await createRunDir(undefined, defaultLog)).path;
    const [port, adminPort] = await freePorts(2);
    server = ComposeS3Server.create(artifacts, runDir, environment, [port, adminPort]);
    await server.start();

    // As the s3-users job: an identity of role `user` for each service.
    for (const access of [ARCHIVER, VERIFIER]) {
      const identity = { accessKeyId: access, secretAccessKey: randomBytes(24).toString('hex') };
      identities[access] = identity;
      await server.admin(['create-user', '--access', identity.accessKeyId, '--secret', identity.secretAccessKey, '--role', 'user']);
    }
    admin = clientFor(server.endpoint, server.root);
    archiver = clientFor(server.endpoint, identities[ARCHIVER]);
    verifier = clientFor(server.endpoint, identities[VERIFIER]);
    stranger = clientFor(server.endpoint, { accessKeyId: ARCHIVER, secretAccessKey: 'not-the-archiver-secret' });

    // As the s3-bucket job: the bucket, owned by the admin, with the repository's policy.
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await admin.send(
      new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: readFileSync(repoFile('s3/archive-bucket-policy.json'), 'utf8') }),
    );
    await admin.send(new CreateBucketCommand({ Bucket: OTHER_BUCKET }));
  });

  afterAll(async () => {
    for (const client of [admin, archiver, verifier, stranger]) client?.destroy();
    await server?.stop();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  it('is the release the compose image names: the binary was built from the module at that tag', () => {
    const compose = readYaml<Compose>('docker-compose.yaml');
    const tag = compose.services['s3']?.image?.split(':')[1];
    const buildInfo = spawnSync('go', ['version', '-m', artifacts.binary], { encoding: 'utf8' }).stdout;
    const moduleVersion = /^\s*mod\s+github\.com\/versity\/versitygw\s+(\S+)/m.exec(buildInfo)?.[1];
    expect({ tag, moduleVersion }).toEqual({ tag: artifacts.version, moduleVersion: artifacts.version });
  });

  it('writes a new key with If-None-Match: * and refuses a second conditional write of it with 412', async () => {
    const key = `conditional/${Date.now()}.jsonl`;
    const put = (body: string) => archiver.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, IfNoneMatch: '*' }));
    expect(await statusOf(put('first\n'))).toBe(200);
    expect(await statusOf(put('second\n'))).toBe(412);
    // Without the condition the same write goes through, so the 412 came from the header.
    expect(await statusOf(admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${key}.plain`, Body: 'a' })))).toBe(200);
    expect(await statusOf(admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${key}.plain`, Body: 'b' })))).toBe(200);
    const kept = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await kept.Body?.transformToString()).toBe('first\n');
  });

  it('lets the archiver do what the archiver does, through its own ArchiveStore: check, put once, learn the winner, list', async () => {
    const store = new ArchiveStore(archiver, BUCKET);
    const key = `archive/${Date.now()}.jsonl`;
    const range = { topic: 'output-topic', partition: 0, firstOffset: 0n, lastOffset: 1n, recordCount: 2 };
    await store.checkBucket();
    // The start-up probe of conditional writes works under the archiver's own policy, which refuses deletes.
    expect(await store.probeConditionalWrites('archive/')).toBe(true);
    expect(await store.putIfAbsent(key, [Buffer.from('{"a":1}\n'), Buffer.from('{"a":2}\n')], range, false)).toEqual({
      created: true,
      key,
      generation: 0,
    });
    // The same first record again (a restart that cut its object shorter): the winner is read back
    // and found to hold the same records, so this is a plain conflict.
    const again = await store.putIfAbsent(key, [Buffer.from('{"a":1}\n')], { ...range, lastOffset: 0n, recordCount: 1 }, false);
    expect(again).toEqual({ created: false, existing: range, key, generation: 0 });
    const listed: string[] = [];
    for await (const object of store.list('archive/')) listed.push(object.key);
    expect(listed).toContain(key);
  });

  it('lets the verifier read and list the archive, and nothing more', async () => {
    const key = `verifier/${Date.now()}.jsonl`;
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'line\n' }));
    const store = new ArchiveStore(verifier, BUCKET);
    await store.checkBucket();
    const listed: string[] = [];
    for await (const object of store.list('verifier/')) listed.push(object.key);
    expect(listed).toEqual([key]);
    const read = await verifier.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await read.Body?.transformToString()).toBe('line\n');
    expect(await statusOf(verifier.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${key}.forged`, Body: 'x' })))).toBe(403);
    expect(await statusOf(verifier.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })))).toBe(403);
  });

  it('refuses the services what they never need: buckets made or removed, objects deleted, another bucket written or read', async () => {
    const key = `refused/${Date.now()}`;
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    await admin.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: key, Body: 'x' }));
    const attempts = (client: S3Client): Record<string, Promise<{ $metadata: { httpStatusCode?: number } }>> => ({
      createBucket: client.send(new CreateBucketCommand({ Bucket: `weblog-new-${Date.now()}` })),
      deleteBucket: client.send(new DeleteBucketCommand({ Bucket: OTHER_BUCKET })),
      deleteObject: client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })),
      putPolicy: client.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: '{}' })),
      writeOtherBucket: client.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: `${key}.x`, Body: 'x' })),
      readOtherBucket: client.send(new GetObjectCommand({ Bucket: OTHER_BUCKET, Key: key })),
    });
    const statuses = async (client: S3Client): Promise<Record<string, number | undefined>> => {
      const calls = attempts(client);
      const entries = await Promise.all(Object.entries(calls).map(async ([name, call]) => [name, await statusOf(call)] as const));
      return Object.fromEntries(entries);
    };
    const refused = {
      createBucket: 403,
      deleteBucket: 403,
      deleteObject: 403,
      putPolicy: 403,
      writeOtherBucket: 403,
      readOtherBucket: 403,
    };
    expect(await statusOf(archiver.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${key}.own`, Body: 'x' })))).toBe(200);
    expect(await statuses(archiver)).toEqual(refused);
    expect(await statuses(verifier)).toEqual(refused);
  });

  it('allows the admin all of that, so the refusals are the identities and not a broken server', async () => {
    const key = `admin/${Date.now()}`;
    const bucket = `weblog-admin-${Date.now()}`;
    expect(await statusOf(admin.send(new CreateBucketCommand({ Bucket: bucket })))).toBe(200);
    expect(await statusOf(admin.send(new PutObjectCommand({ Bucket: OTHER_BUCKET, Key: key, Body: 'x' })))).toBe(200);
    expect(await statusOf(admin.send(new GetObjectCommand({ Bucket: OTHER_BUCKET, Key: key })))).toBe(200);
    expect(await statusOf(admin.send(new DeleteObjectCommand({ Bucket: OTHER_BUCKET, Key: key })))).toBe(204);
    expect(await statusOf(admin.send(new DeleteBucketCommand({ Bucket: bucket })))).toBe(204);
  });

  it('refuses a known access key with the wrong secret', async () => {
    expect(await statusOf(stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'anything' })))).toBe(403);
  });
});
