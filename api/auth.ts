// Operator authentication: a bearer token compared in constant time, with failed attempts limited
// per source address so the token cannot be guessed at line rate.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AuthFailureLimiter } from '../lib/auth-limiter';
import { rateLimited, unauthorized } from '../lib/errors';
import type { Logger } from '../lib/log';
import { limitKey } from '../lib/net';
import { AuthFailureLog } from './auth-log';

export const DEFAULT_AUTH_FAILURE_LIMIT = { failures: 10, windowSeconds: 60 };

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The address a limit applies to: the socket's peer (a forwarded-for header is the client's word). */
const sourceOf = (req: Request): string => limitKey(req.socket.remoteAddress);

/**
 * A blocked address gets 429 until its window ends, whatever token it sends: otherwise the block
 * would only slow the guessing down, the right guess still being let in.
 */
export function bearerAuth(token: string, log: Logger, limit = DEFAULT_AUTH_FAILURE_LIMIT) {
  // Hashes have one length: comparing them tells nothing about the token's length.
  const expected = digest(`Bearer ${token}`);
  const limiter = new AuthFailureLimiter({ failures: limit.failures, windowMs: limit.windowSeconds * 1000 });
  const failures = new AuthFailureLog(log, limit.windowSeconds * 1000);
  const blocked = (address: string, msBeforeNext: number) => {
    failures.refused(address);
    return rateLimited(`too many failed authentications from ${address}; try again in ${Math.ceil(msBeforeNext / 1000)} s`, Math.ceil(msBeforeNext / 1000));
  };

  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const address = sourceOf(req);
    const waitMs = await limiter.blockedFor(address);
    if (waitMs > 0) return next(blocked(address, waitMs));
    const given = req.headers.authorization;
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    // No token at all is not a guess: a browser opening the console before its operator signed in
    // must not lock that operator out. Only a token that was given and wrong counts.
    if (given === undefined) return next(unauthorized('missing API token: send Authorization: Bearer <API_TOKEN>'));
    const after = await limiter.fail(address);
    if (after.count > limit.failures) return next(blocked(address, after.blockedForMs));
    failures.failed(address, 'wrong token', after.count === limit.failures ? after.blockedForMs : undefined);
    next(unauthorized('missing or wrong API token'));
  };
}
