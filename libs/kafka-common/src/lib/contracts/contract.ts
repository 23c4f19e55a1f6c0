import { z } from 'zod';

/**
 * A message contract: one zod schema gives both the static type and the runtime check,
 * so a shape that the contract does not describe can neither be sent nor accepted.
 */
export interface Contract<T> {
  readonly name: string;
  readonly schema: z.ZodType<T>;
  /**
   * The schema's verdict on the common case, at a fraction of its cost: true only for a value the
   * schema accepts as it is. False says nothing: the schema then decides and gives the reason.
   */
  readonly quickAccept?: (value: unknown) => boolean;
}

export function defineContract<S extends z.ZodType>(
  name: string,
  schema: S,
  quickAccept?: (value: unknown) => boolean,
): Contract<z.infer<S>> {
  return { name, schema: schema as z.ZodType<z.infer<S>>, ...(quickAccept ? { quickAccept } : {}) };
}

export type ContractType<C> = C extends Contract<infer T> ? T : never;
