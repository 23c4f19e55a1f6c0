// A transform thread: decodes, checks, upper-cases and encodes the batches the main thread sends
// (`TransformThreads`), so the main thread keeps to Kafka's requests. Started with the transform
// options as its workerData.
import { parentPort, workerData } from 'node:worker_threads';
import { TransformOptions } from './transform-batch';
import { runJob, TransformJob } from './transform-job';

const port = parentPort;
if (!port) throw new Error('transform.worker runs as a worker thread only');
const options = workerData as TransformOptions;
port.on('message', (job: TransformJob) => {
  const reply = runJob(job, options);
  port.postMessage(reply, [reply.bytes.buffer as ArrayBuffer]);
});
