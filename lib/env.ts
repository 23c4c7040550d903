// Helpers for reading configuration from the environment with zod, once, at start.
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Strict booleans: "true"/"false"/"1"/"0" only, so a typo never silently means false. */
export const envBool = z
  .enum(['true', 'false', '1', '0'], { error: 'expected true, false, 1 or 0' })
  .transform((v) => v === 'true' || v === '1');

export const envInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().min(min, { error: `expected at least ${min}` }).max(max, { error: `expected at most ${max}` }));

export const envUrl = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** Parses `env` with `schema`; a failure names every bad variable and what it expects. */
export function parseEnv<T extends z.ZodRawShape>(schema: z.ZodObject<T>, env: NodeJS.ProcessEnv): z.infer<z.ZodObject<T>> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const name = String(i.path[0] ?? '?');
    const given = cleaned[name];
    return `  ${name}: ${i.message}${given !== undefined ? ` (got "${name.includes('SECRET') || name.includes('KEY') || name.includes('TOKEN') ? '***' : given}")` : ''}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}
