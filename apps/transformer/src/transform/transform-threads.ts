import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { KafkaMessage } from 'kafkajs';
import { BatchSource, TransformOptions } from './transform-batch';
import { packJob, TransformReply } from './transform-job';

interface Pending {
  readonly resolve: (reply: TransformReply) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * Threads beside the main one that transform batches (`transform.worker.ts`): a partition always
 * goes to the same thread. A thread starts with the first batch that goes to it, so a transformer
 * whose batches all stay on the main thread (a few thousand records a second) runs none and holds
 * no memory for one. A thread that fails fails the batches it held (the transport fetches them
 * again with backoff) and is started again for the next batch.
 */
export class TransformThreads {
  private readonly threads: (Thread | undefined)[];
  private nextId = 0;
  private closed = false;

  constructor(
    count: number,
    private readonly options: TransformOptions,
    private readonly onFailure: (message: string) => void,
    private readonly script = path.join(__dirname, 'transform.worker.js'),
  ) {
    this.threads = Array.from({ length: count }, () => undefined);
  }

  /** The threads running now. */
  get running(): number {
    return this.threads.filter((t) => t !== undefined).length;
  }

  run(source: BatchSource, messages: readonly KafkaMessage[]): Promise<TransformReply> {
    if (this.closed) return Promise.reject(new Error('the transform threads are closed'));
    const thread = this.thread(source.partition % this.threads.length);
    const job = packJob(this.nextId++, source, messages);
    return new Promise<TransformReply>((resolve, reject) => {
      thread.pending.set(job.id, { resolve, reject });
      thread.worker.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const running = this.threads.filter((t): t is Thread => t !== undefined);
    this.threads.fill(undefined);
    await Promise.all(running.map((t) => t.worker.terminate()));
  }

  private thread(index: number): Thread {
    const existing = this.threads[index];
    if (existing) return existing;
    const worker = new Worker(this.script, { workerData: this.options });
    const thread: Thread = { worker, pending: new Map() };
    // 'error' is followed by 'exit': the first says what happened; either fails what the thread held.
    const fail = (error: Error) => {
      if (this.threads[index] === thread) {
        this.threads[index] = undefined;
        if (!this.closed) this.onFailure(`${error.message}; ${thread.pending.size} batches fail and are fetched again`);
      }
      for (const p of thread.pending.values()) p.reject(error);
      thread.pending.clear();
    };
    worker.on('message', (reply: TransformReply) => {
      const waiting = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      waiting?.resolve(reply);
    });
    worker.on('error', (error: Error) => fail(new Error(`transform thread ${index} failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`transform thread ${index} exited with code ${code}`)));
    // A thread waiting for batches must not keep the process alive on its own.
    worker.unref();
    this.threads[index] = thread;
    return thread;
  }
}
