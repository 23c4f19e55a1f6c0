import { conform, DeadLetterHeaders, OutgoingRecord, PipelineHeaders, WebLog, WebLogContract } from '@weblog/kafka-common';
import { Message } from 'kafkajs';
import { TailedLine } from '../files/file-tailer';
import { ParseResult } from '../parse/parsed-line';

/** Why a line went to the dead-letter topic; the `reason` label of lines_rejected_total. */
export const LineRejection = {
  unparseable: 'unparseable-line',
  contractViolation: 'contract-violation',
} as const;
export type LineRejectionReason = (typeof LineRejection)[keyof typeof LineRejection];

export interface LineSource {
  readonly path: string;
  /** `<SHIPPER_ID>:<file identity>`: the run id header of every record of this file. */
  readonly runId: string;
  /** The sequence of the line before the first of this batch. */
  readonly sequenceBefore: number;
  readonly shipperId: string;
}

export interface LineRecords {
  readonly records: OutgoingRecord<WebLog>[];
  readonly deadLetters: Message[];
  readonly rejected: readonly LineRejectionReason[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The records a batch of lines becomes: a WebLog per line that parses and passes the contract,
 * a dead letter (the raw line, the reason and where it was) for every other line. Both carry the
 * run id and the line's sequence, so a verifier can tell a refused line from a lost one.
 */
export function lineRecords(
  lines: readonly TailedLine[],
  source: LineSource,
  parse: (line: string) => ParseResult,
  now = Date.now(),
): LineRecords {
  const records: OutgoingRecord<WebLog>[] = [];
  const deadLetters: Message[] = [];
  const rejected: LineRejectionReason[] = [];
  const producedAt = String(now);
  lines.forEach((line, index) => {
    const headers = {
      [PipelineHeaders.runId]: source.runId,
      [PipelineHeaders.sequence]: String(source.sequenceBefore + index + 1),
      [PipelineHeaders.producedAt]: producedAt,
    };
    const refuse = (reason: LineRejectionReason, detail: string) => {
      rejected.push(reason);
      deadLetters.push({
        key: null,
        value: line.text,
        headers: {
          ...headers,
          [DeadLetterHeaders.sourceTopic]: `file:${source.path}`,
          [DeadLetterHeaders.sourcePartition]: '0',
          [DeadLetterHeaders.sourceOffset]: String(line.start),
          [DeadLetterHeaders.consumer]: source.shipperId,
          [DeadLetterHeaders.reason]: reason,
          [DeadLetterHeaders.detail]: detail.length > 500 ? `${detail.slice(0, 497)}...` : detail,
          [DeadLetterHeaders.failedAt]: producedAt,
        },
      });
    };
    if (line.oversize) return refuse(LineRejection.unparseable, `line longer than ${line.text.length} bytes`);
    let text: string;
    try {
      text = utf8.decode(line.text);
    } catch {
      return refuse(LineRejection.unparseable, 'line is not valid UTF-8');
    }
    const parsed = parse(text);
    if (!parsed.ok) return refuse(LineRejection.unparseable, parsed.reason);
    const checked = conform(WebLogContract, parsed.value);
    if (!checked.ok) return refuse(LineRejection.contractViolation, `${WebLogContract.name}: ${checked.detail}`);
    records.push({ key: checked.value.ip, value: checked.value, headers });
  });
  return { records, deadLetters, rejected };
}
