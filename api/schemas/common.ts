// Response pieces every resource shares: timestamps as they go on the wire, and the one error body
// toHttp() (lib/errors.ts) writes for every refusal.
import { z } from 'zod';
import type { ErrorKind, HttpError } from '../../lib/errors';

/** A time as JSON carries it: ISO 8601 in UTC, as Date#toISOString writes it. */
export const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601 time in UTC', example: '2025-01-31T12:00:00.000Z' });

/** A view's timestamp: the wire form of a stored Date. */
export const iso = (at: Date): string => at.toISOString();
export const isoOrNull = (at: Date | null): string | null => (at ? at.toISOString() : null);

const ERROR_KINDS = ['invalid', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'unsupported', 'rate_limited', 'unavailable', 'internal'] as const satisfies readonly ErrorKind[];
// Fails to compile when lib/errors.ts gains a kind this list lacks.
const noKindMissing: [Exclude<ErrorKind, (typeof ERROR_KINDS)[number]>] extends [never] ? true : never = true;
void noKindMissing;

/** One bad field of a request, as parseBody and the handlers name it. */
export const FieldIssue = z.strictObject({ field: z.string(), message: z.string() }).meta({ id: 'FieldIssue' });

export const ApiError = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(ERROR_KINDS).meta({ description: 'What kind of refusal: 400 invalid, 401 unauthorized, 403 forbidden, 404 not_found, 409 conflict, 413 too_large, 415 unsupported, 429 rate_limited, 503 unavailable, 500 internal' }),
      message: z.string().meta({ description: 'What went wrong, in words a person can act on' }),
      details: z
        .looseObject({
          fields: z.array(FieldIssue).optional().meta({ description: '400: every bad field (the first ten)' }),
          retryAfterSeconds: z.number().optional().meta({ description: '429: when to try again (also the Retry-After header)' }),
        })
        .optional()
        .meta({ description: 'Structured details, never secrets: the fields of a 400, the clashing link or CIDR of a 409, the id of a 404' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every 4xx and 5xx answer of /api has this body' });
export type ApiError = z.infer<typeof ApiError>;

// Fails to compile when toHttp's code or message stops fitting the documented error (details are
// free-form there; the contract checker validates them on every answer in tests).
const toHttpFits = (body: HttpError['body']): { error: Omit<ApiError['error'], 'details'> } => body;
void toHttpFits;
