// Every request gets an id: the client's X-Request-Id when it is plain, else a new one. The answer
// carries it back, and the request's code runs with it as the current request id (lib/request-
// context.ts), so the workflows it starts or signals, their activities' logs and the audit trail
// all name the same id.
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { withRequestId } from '../lib/request-context';

const PLAIN_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestIds() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && PLAIN_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    withRequestId(requestId, next);
  };
}

/** The id requestIds gave this request. */
export function requestIdOf(res: Response): string {
  const id: unknown = res.locals.requestId;
  return typeof id === 'string' ? id : 'unknown';
}
