// Loaded with `--require` into our built transformer by `transformer --floors` (`floors.ts`): in
// each transform thread, the job of the floor `WEBLOG_BENCH_FLOOR` names takes the place of the
// contract's. The main thread is left as it is. For the benchmark only.
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { FLOOR_VARIABLE, floorJob, FloorJob, isFloor } from './floor-job';

const floor = process.env[FLOOR_VARIABLE];
if (!isFloor(floor)) throw new Error(`${FLOOR_VARIABLE} must be one of the floors, got ${String(floor)}`);
if (!isMainThread) {
  // The module the transform thread calls `runJob` of, at each job, through its exports. The
  // launcher's `serviceMain` names it too; it is written out so that the preload loads no launcher.
  const built = path.resolve(__dirname, '..', '..', 'apps', 'transformer', 'dist', 'transform', 'transform-job.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jobs = require(built) as { runJob?: unknown };
  if (typeof jobs.runJob !== 'function') throw new Error(`${built} exports no runJob for the ${floor} floor to replace`);
  jobs.runJob = (job: FloorJob) => floorJob(floor, job);
}
