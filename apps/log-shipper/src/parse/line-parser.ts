import { LogFormat } from '../files/file-spec';
import { parseCombinedLine, parseCommonLine } from './combined-log';
import { parseJsonLine } from './json-log';
import { ParseResult } from './parsed-line';

const PARSERS: Readonly<Record<LogFormat, (line: string) => ParseResult>> = {
  combined: parseCombinedLine,
  common: parseCommonLine,
  json: parseJsonLine,
};

/** The parser of a format; every parser returns a result and never throws. */
export function lineParser(format: LogFormat): (line: string) => ParseResult {
  return PARSERS[format];
}
