// The JSON-in-text columns, each with the schema it is parsed and validated against: once, here,
// when a row is read, so the rest of the code only ever sees typed values.
import { isIP } from 'node:net';
import { z } from 'zod';
import { CorruptRowError } from './errors';

/** CIDRs of a gateway or a link end, route-table and security-group ids. */
export const StringList = z.array(z.string());

/**
 * What an agent reported in its hello. Validated when it arrived (protocol/messages.ts Facts); read
 * leniently, since rows from older agents predate some checks: a field that does not fit is
 * dropped, and what is not read here is kept for display.
 */
export const StoredFacts = z.looseObject({
  publicIp: z
    .string()
    .refine((address) => isIP(address) !== 0)
    .optional()
    .catch(undefined),
  localAddrs: z
    .array(z.unknown())
    .transform((addrs) => addrs.filter((addr): addr is string => typeof addr === 'string'))
    .optional()
    .catch(undefined),
  connection: z
    .discriminatedUnion('via', [z.looseObject({ via: z.literal('direct') }), z.looseObject({ via: z.literal('proxy'), proxy: z.string() })])
    .transform((connection) => (connection.via === 'proxy' ? { via: 'proxy' as const, proxy: connection.proxy } : { via: 'direct' as const }))
    .optional()
    .catch(undefined),
});
export type StoredFacts = z.infer<typeof StoredFacts>;

/** Details of a link event (never secrets). */
export const EventData = z.record(z.string(), z.unknown());

/** A cloud account's endpoint overrides, by service ("vpc", "ecs", "ec2"); checked against policy at use. */
export const Endpoints = z.record(z.string(), z.string());

/** Where a column sits, for the error when it does not parse. */
export interface ColumnAt {
  table: string;
  column: string;
  id: string | number;
}

/** Parses a stored JSON column; CorruptRowError when it is not JSON or does not fit `schema`. */
export function parseColumn<T>(schema: z.ZodType<T>, stored: string, at: ColumnAt): T {
  const result = schema.safeParse(parseJson(stored, at));
  if (!result.success) throw new CorruptRowError(at.table, at.column, at.id, `does not fit: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

/** Like parseColumn, but a column that does not parse reads as undefined (lenient columns). */
export function tryParseColumn<T>(schema: z.ZodType<T>, stored: string): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}

function parseJson(stored: string, at: ColumnAt): unknown {
  try {
    return JSON.parse(stored);
  } catch {
    throw new CorruptRowError(at.table, at.column, at.id, 'is not JSON');
  }
}
