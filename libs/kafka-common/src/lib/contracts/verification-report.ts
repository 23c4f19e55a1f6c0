/** The verifier's report (`GET /report`): what a run sent and what arrived, as the verifier saw it. */
export interface RunReport {
  readonly runId: string;
  /** The highest sequence seen: what the generator had sent by then, at least. */
  readonly expected: number;
  readonly received: number;
  readonly unique: number;
  readonly missing: number;
  readonly missingRanges: [number, number][];
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly latencyMs: { readonly count: number; readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
}

export interface VerificationReport {
  readonly startedAt: string;
  readonly verified: number;
  readonly invalid: number;
  /** Valid records without run and sequence headers: checked, but not countable per run. */
  readonly untracked: number;
  readonly runs: RunReport[];
}

/** The S3 audit (`POST /audit`): the archive compared with the output topic record by record. */
export interface AuditReport {
  readonly ok: boolean;
  readonly topicRecords: number;
  readonly archivedRecords: number;
  /** In the topic, not in S3. */
  readonly missingInS3: number;
  /** In S3 more than once. */
  readonly duplicatedInS3: number;
  /** In S3, not in the topic. */
  readonly unexpectedInS3: number;
  /** Invalid records of the topic are dead-lettered, not archived, so they are not expected in S3. */
  readonly invalidInTopic: number;
  readonly problems: number;
  /** Up to 50 event ids of each kind of difference. */
  readonly examples: { missing: string[]; duplicated: string[]; unexpected: string[] };
}
