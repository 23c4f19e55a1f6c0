import { z } from 'zod';
import { defineContract } from './contract';
import { webLogShape } from './web-log.contract';

/** Value of `output-topic`: a WebLog whose every string value is upper-cased. */
export const TransformedWebLogContract = defineContract(
  'TransformedWebLog',
  z.strictObject(webLogShape).check((ctx) => {
    for (const [field, value] of Object.entries(ctx.value)) {
      if (typeof value === 'string' && value !== value.toUpperCase()) {
        ctx.issues.push({ code: 'custom', path: [field], message: `${field} must be upper-case`, input: value });
      }
    }
  }),
);
export type TransformedWebLog = z.infer<typeof TransformedWebLogContract.schema>;
