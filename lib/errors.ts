// One error vocabulary for the API, the hub and the activities; toHttp() is the only mapping to HTTP.
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Structured details safe to show a client (never secrets). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) => new AppError('invalid', message, details);
export const notFound = (what: string, id: string) => new AppError('not_found', `${what} ${id} not found`, { id });
export const conflict = (message: string, details?: Record<string, unknown>) => new AppError('conflict', message, details);
export const unavailable = (message: string) => new AppError('unavailable', message);
export const unauthorized = (message: string) => new AppError('unauthorized', message);
export const forbidden = (message: string, details?: Record<string, unknown>) => new AppError('forbidden', message, details);
export const tooLarge = (message: string) => new AppError('too_large', message);
export const unsupported = (message: string) => new AppError('unsupported', message);
/** The client may try again after `retryAfterSeconds` (sent as Retry-After too). */
export const rateLimited = (message: string, retryAfterSeconds: number) => new AppError('rate_limited', message, { retryAfterSeconds });

const statusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export interface HttpError {
  status: number;
  body: { error: { code: ErrorKind; message: string; details?: Record<string, unknown> } };
  /** Response headers the status calls for (WWW-Authenticate with a 401, Retry-After with a 429). */
  headers: Record<string, string>;
}

/** Maps any thrown value to a status and a body; unknown errors never leak their message. */
export function toHttp(err: unknown): HttpError {
  if (err instanceof AppError) {
    return {
      status: statusOf[err.kind],
      body: { error: { code: err.kind, message: err.message, ...(err.details ? { details: err.details } : {}) } },
      headers: headersOf(err),
    };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } }, headers: {} };
}

function headersOf(err: AppError): Record<string, string> {
  if (err.kind === 'unauthorized') return { 'WWW-Authenticate': 'Bearer' };
  const retryAfter = err.details?.retryAfterSeconds;
  if (err.kind === 'rate_limited' && typeof retryAfter === 'number') return { 'Retry-After': String(Math.max(1, Math.ceil(retryAfter))) };
  return {};
}

/** Client-supplied text echoed in a message, cut short. */
export const clip = (text: string, max = 60): string => (text.length > max ? `${text.slice(0, max)}…` : text);
