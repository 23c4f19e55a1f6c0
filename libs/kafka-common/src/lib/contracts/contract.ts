import { z } from 'zod';

/**
 * A message contract: one zod schema gives both the static type and the runtime check,
 * so a shape that the contract does not describe can neither be sent nor accepted.
 */
export interface Contract<T> {
  readonly name: string;
  readonly schema: z.ZodType<T>;
}

export function defineContract<S extends z.ZodType>(name: string, schema: S): Contract<z.infer<S>> {
  return { name, schema: schema as z.ZodType<z.infer<S>> };
}

export type ContractType<C> = C extends Contract<infer T> ? T : never;
