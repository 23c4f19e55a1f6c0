import { z } from 'zod';
import { defineContract } from './contract';
import { UTC_TIMESTAMP } from './timestamp';
import { quickWebLogCheck, quickWebLogFields, transformedWebLogShape, webLogObject } from './web-log.contract';

const isUpperCase = (value: string): boolean => value === value.toUpperCase();
const isUtcTimestamp = (value: unknown): boolean => typeof value === 'string' && UTC_TIMESTAMP.test(value);
const quickEventId = quickWebLogFields['event_id'];

/**
 * Value of `output-topic`: a WebLog whose every string value (extra fields included) is
 * upper-cased, with an `event_id` always (the record's own or one derived from where it was read)
 * and `timestamp_utc`, the instant of `timestamp` in UTC.
 */
export const TransformedWebLogContract = defineContract(
  'TransformedWebLog',
  webLogObject({
    ...transformedWebLogShape,
    timestamp_utc: z.string().regex(UTC_TIMESTAMP, { message: 'timestamp_utc must be YYYY-MM-DDTHH:MM:SS.sss[sss]Z' }),
  }).check((ctx) => {
    for (const [field, value] of Object.entries(ctx.value)) {
      if (typeof value === 'string' && !isUpperCase(value)) {
        ctx.issues.push({ code: 'custom', path: [field], message: `${field} must be upper-case`, input: value });
      }
    }
  }),
  quickWebLogCheck({
    fields: { ...quickWebLogFields, timestamp_utc: isUtcTimestamp },
    required: Object.keys(transformedWebLogShape).concat('timestamp_utc'),
    everyString: isUpperCase,
  }),
);
export type TransformedWebLog = z.infer<typeof TransformedWebLogContract.schema>;

/**
 * This contract's verdict on a web log's upper-cased copy, for a copy of a value that passed
 * `WebLogContract` and whose strings are all ASCII (`isAsciiJson` of its bytes). Upper-casing
 * ASCII maps a-z to A-Z and nothing else: the names, the lengths and the printable characters
 * stay, a method token, a request target, an IPv6 address and an access-log month stay valid in
 * capitals, and the copy is upper-case. So every check of the input contract holds again and
 * only what the transformer adds is left: `event_id` (the record's own, or a derived one) and
 * `timestamp_utc`. A rule added to this contract that the input contract's fields do not imply
 * must be added here too; `upper-cased-ascii.spec.ts` holds this to the schema.
 */
export function acceptsUpperCasedAscii(value: object): boolean {
  const { event_id: eventId, timestamp_utc: utc } = value as Partial<Record<'event_id' | 'timestamp_utc', unknown>>;
  return quickEventId(eventId) && isUpperCase(eventId as string) && isUtcTimestamp(utc);
}
