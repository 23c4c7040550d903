// Request-body validation: a failure becomes one 400 that names every bad field.
import type { z } from 'zod';
import { invalid } from '../lib/errors';

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const fields = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  throw invalid(`invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, { fields });
}
