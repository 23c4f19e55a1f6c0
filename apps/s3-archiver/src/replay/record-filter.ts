import { TransformedWebLog } from '@weblog/kafka-common';

export type RecordPredicate = (log: TransformedWebLog) => boolean;

const FIELDS = ['event_id', 'ip', 'timestamp', 'timestamp_utc', 'method', 'url', 'status_code', 'user_agent'] as const;
type Field = (typeof FIELDS)[number];
const OPERATORS = ['>=', '<=', '!=', '=', '>', '<', '~'] as const;
type Operator = (typeof OPERATORS)[number];

/**
 * Parses `field<op>value` (ops: = != > >= < <= and ~ for "contains"), e.g. `status_code>=500`,
 * `method=post`, `url~/checkout`. Text compares without regard to case, since the archive holds
 * upper-cased records. Throws with a readable message on anything else.
 */
export function parseFilter(expression: string): RecordPredicate {
  const match = /^\s*([a-z_]+)\s*(>=|<=|!=|=|>|<|~)\s*(.*?)\s*$/.exec(expression);
  if (!match) throw new Error(`filter "${expression}" is not field<op>value (ops: ${OPERATORS.join(' ')})`);
  const [, name, op, raw] = match as unknown as [string, string, Operator, string];
  if (!(FIELDS as readonly string[]).includes(name))
    throw new Error(`filter "${expression}": unknown field ${name} (fields: ${FIELDS.join(', ')})`);
  const field = name as Field;
  if (field === 'status_code') {
    const wanted = Number(raw);
    if (!Number.isInteger(wanted) || op === '~')
      throw new Error(`filter "${expression}": status_code compares with a whole number using = != > >= < <=`);
    return (log) => compare(log.status_code - wanted, op);
  }
  const wanted = raw.toUpperCase();
  if (op === '~') return (log) => log[field].toUpperCase().includes(wanted);
  return (log) => compare(log[field].toUpperCase().localeCompare(wanted), op);
}

function compare(difference: number, op: Exclude<Operator, '~'>): boolean {
  switch (op) {
    case '=':
      return difference === 0;
    case '!=':
      return difference !== 0;
    case '>':
      return difference > 0;
    case '>=':
      return difference >= 0;
    case '<':
      return difference < 0;
    case '<=':
      return difference <= 0;
  }
}

/**
 * All filters must hold, plus an optional [from, to) window on the record's instant
 * (`timestamp_utc`: the record's own `timestamp` may be zone-less or in the access-log form).
 */
export function combineFilters(filters: readonly RecordPredicate[], from?: Date, to?: Date): RecordPredicate {
  return (log) => {
    // Milliseconds are all a Date holds; the digits below them cannot move a window's edge.
    const time = Date.parse(`${log.timestamp_utc.slice(0, 23)}Z`);
    if (from && time < from.getTime()) return false;
    if (to && time >= to.getTime()) return false;
    return filters.every((filter) => filter(log));
  };
}
