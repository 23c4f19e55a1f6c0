import { z } from 'zod';
import { Contract, defineContract } from './contract';

const count = z.number().int().min(0);
const milliseconds = z.number().min(0);
const latency = z.object({ count, p50: milliseconds, p95: milliseconds, p99: milliseconds, max: milliseconds });

const runReportSchema = z.object({
  runId: z.string(),
  /** The highest sequence seen: what the generator had sent by then, at least. */
  expected: count,
  /** Deliveries of the run's records, each offset once (a redelivery after a rejoin is not one). */
  received: count,
  unique: count,
  missing: count,
  missingRanges: z.array(z.tuple([count, count])),
  /** The same record (run and sequence) at another offset: produced twice, not delivered twice. */
  duplicates: count,
  outOfOrder: count,
  /** From the generator's produce stamp to the verifier's receipt, every record of the run. */
  latencyMs: latency,
  /** Records produced this long after the run's first are its steady state. */
  latencyWarmupMs: count,
  /** The records produced in the run's first `latencyWarmupMs`: connections, group joins, JIT. */
  startupLatencyMs: latency,
  /** The rest: what a user of a running pipeline sees. */
  steadyLatencyMs: latency,
  /**
   * The steady records' latency split at the timestamp their record has in the topic the verifier
   * reads (whoever wrote it there set it): from the produce stamp to that timestamp, and from it
   * to the receipt. Each is its own distribution: their p99s need not add up to the whole's.
   */
  steadyBeforeRecordTimestampMs: latency,
  steadyAfterRecordTimestampMs: latency,
});

/** The verifier's report (`GET /report`): what a run sent and what arrived, as the verifier saw it. */
export const VerificationReportContract = defineContract(
  'VerificationReport',
  z.object({
    startedAt: z.string(),
    verified: count,
    invalid: count,
    /** Valid records without run and sequence headers: checked, but not countable per run. */
    untracked: count,
    /**
     * Records at or below an offset already counted in their partition, read again after a rejoin
     * of the verifier's group (it commits nothing, so a rejoin starts every partition over): not
     * counted again.
     */
    redelivered: count,
    runs: z.array(runReportSchema),
  }),
);

export type RunReport = z.infer<typeof runReportSchema>;
/** A latency distribution of the report, in milliseconds. */
export type LatencySummary = z.infer<typeof latency>;
export type VerificationReport = z.infer<typeof VerificationReportContract.schema>;

/**
 * A report read over HTTP, checked against its contract: a reader that took a changed or failed
 * answer on trust would judge a run by fields that are not there. Throws one line naming what does
 * not match, with the start of the answer.
 */
export function parseReport<T>(contract: Contract<T>, text: string): T {
  const shown = text.length > 300 ? `${text.slice(0, 297)}...` : text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${contract.name}: the answer is not JSON: ${shown}`);
  }
  const result = contract.schema.safeParse(parsed);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${contract.name}: the answer does not match the contract (${issues}): ${shown}`.replace(/\s*\n\s*/g, ' '));
  }
  return result.data;
}

export function parseVerificationReport(text: string): VerificationReport {
  return parseReport(VerificationReportContract, text);
}
