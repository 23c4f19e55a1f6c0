import { z } from 'zod';
import { defineContract } from './contract';
import { UTC_TIMESTAMP } from './timestamp';
import { quickWebLogCheck, quickWebLogFields, transformedWebLogShape, webLogObject } from './web-log.contract';

const isUpperCase = (value: string): boolean => value === value.toUpperCase();

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
    fields: { ...quickWebLogFields, timestamp_utc: (value) => typeof value === 'string' && UTC_TIMESTAMP.test(value) },
    required: Object.keys(transformedWebLogShape).concat('timestamp_utc'),
    everyString: isUpperCase,
  }),
);
export type TransformedWebLog = z.infer<typeof TransformedWebLogContract.schema>;
