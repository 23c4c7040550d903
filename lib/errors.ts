// One error vocabulary for the API, the hub and the activities; toHttp() is the only mapping to HTTP.
export type ErrorKind = 'invalid' | 'unauthorized' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

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

const statusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

/** Maps any thrown value to a status and a body; unknown errors never leak their message. */
export function toHttp(err: unknown): { status: number; body: { error: { code: ErrorKind; message: string; details?: Record<string, unknown> } } } {
  if (err instanceof AppError) {
    return { status: statusOf[err.kind], body: { error: { code: err.kind, message: err.message, ...(err.details ? { details: err.details } : {}) } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } } };
}
