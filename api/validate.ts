// Request-body validation: a failure becomes one 400 that names every bad field (the first few,
// each briefly: a body of 20,000 unknown keys must not come back as a larger answer).
import type { z } from 'zod';
import { clip, invalid } from '../lib/errors';

const MAX_FIELDS = 10;
const MAX_TEXT = 200;

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const all = parsed.error.issues.map((issue) => ({ field: clip(issue.path.map(String).join('.'), MAX_TEXT) || '(body)', message: clip(issue.message, MAX_TEXT) }));
  const fields = all.slice(0, MAX_FIELDS);
  const more = all.length > MAX_FIELDS ? `; and ${all.length - MAX_FIELDS} more` : '';
  throw invalid(`invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}${more}`, { fields });
}
