import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KafkaMessage } from 'kafkajs';
import { TransformThreads } from './transform-threads';

const options = { maxBytes: 65536, timeZone: 'UTC' };
const source = { topic: 'input-topic', partition: 0 };
const messages = [{ offset: '0', key: null, value: Buffer.from('x'), headers: {} }] as unknown as KafkaMessage[];

/** A worker script of its own (the real one is compiled JavaScript): `body` handles each job. */
function script(body: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'transform-threads-')), 'worker.js');
  writeFileSync(
    file,
    `const { parentPort } = require('node:worker_threads');\n` +
      `const answer = (job) => parentPort.postMessage({ id: job.id, bytes: job.bytes, lengths: job.lengths, failures: [] });\n` +
      `parentPort.on('message', (job) => { ${body} });\n`,
  );
  return file;
}

describe('TransformThreads', () => {
  let threads: TransformThreads | undefined;
  afterEach(async () => {
    await threads?.close();
    threads = undefined;
  });

  it('answers each batch from its thread, each thread started by the first batch that goes to it', async () => {
    threads = new TransformThreads(2, options, () => undefined, script('answer(job);'));
    expect(threads.running).toBe(0);
    await expect(threads.run(source, messages)).resolves.toMatchObject({ id: 0 });
    expect(threads.running).toBe(1);
    const replies = await Promise.all([threads.run(source, messages), threads.run({ ...source, partition: 1 }, messages)]);
    expect(replies.map((r) => r.id)).toEqual([1, 2]);
    expect(threads.running).toBe(2);
  });

  it('fails the batches of a thread that dies, says so, and starts the thread again for the next batch', async () => {
    const failures: string[] = [];
    // The first job ends its thread; the jobs after are answered.
    threads = new TransformThreads(1, options, (m) => failures.push(m), script('if (job.id === 0) process.exit(3); answer(job);'));
    await expect(threads.run(source, messages)).rejects.toThrow('transform thread 0 exited with code 3');
    expect(failures).toEqual(['transform thread 0 exited with code 3; 1 batches fail and are fetched again']);
    await expect(threads.run(source, messages)).resolves.toMatchObject({ id: 1 });
  });

  it('fails a batch still held when it closes, and refuses batches after', async () => {
    threads = new TransformThreads(1, options, () => undefined, script('/* never answers */'));
    const held = threads.run(source, messages);
    await threads.close();
    await expect(held).rejects.toThrow('exited');
    await expect(threads.run(source, messages)).rejects.toThrow('the transform threads are closed');
  });
});
