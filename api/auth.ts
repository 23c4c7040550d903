// Operator authentication and authorisation for /api and /metrics. A request is let in by the
// shared API_TOKEN (an admin), by an API token with a role (table ApiToken, api/tokens.ts), or, on
// a loopback controller with neither configured, by nothing at all; then the role must grant the
// access roles.ts states for the route. Failed attempts are limited per source address so no token
// can be guessed at line rate.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AuthFailureLimiter } from '../lib/auth-limiter';
import { hashSecret } from '../lib/crypto';
import { forbidden, rateLimited, unauthorized } from '../lib/errors';
import type { Logger } from '../lib/log';
import { limitKey } from '../lib/net';
import type { ApiTokenRecord, TokenStore } from '../store';
import { AuthFailureLog } from './auth-log';
import { accessFor, allows, isRole, rolesFor, type Access, type Role } from './roles';

export const DEFAULT_AUTH_FAILURE_LIMIT = { failures: 10, windowSeconds: 60 };

/** Tokens issued by the controller start so; secret scanners can recognise them. */
export const TOKEN_PREFIX = 'imt_';

/** How long a controller trusts what it read of a token: a revocation elsewhere applies within this. */
export const TOKEN_CACHE_MS = 2_000;
/** lastUsedAt is written at most this often per token and controller. */
export const LAST_USED_WRITE_MS = 60_000;

/** Who is calling: the role decides, the rest names the caller (logs, the audit trail, whoami). */
export interface Principal {
  role: Role;
  /** "API_TOKEN", a token's name, or "anonymous" (an open loopback controller). */
  actor: string;
  via: 'shared-token' | 'api-token' | 'open';
  tokenId?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** The address a limit applies to: the socket's peer (a forwarded-for header is the client's word). */
const sourceOf = (req: Request): string => limitKey(req.socket.remoteAddress);

type Lookup = { principal: Principal } | { refused: 'unknown' | 'revoked' | 'expired' | 'bad-role' };

/**
 * Reads tokens from the database with a short cache: a revocation made on this controller applies
 * at once (forget()), one made on another controller within TOKEN_CACHE_MS.
 */
export class TokenAuthority {
  private readonly cache = new Map<string, { record: ApiTokenRecord; readAt: number }>();
  private anyCached: { value: boolean; readAt: number } | undefined;
  private readonly lastWrite = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async lookup(token: string): Promise<Lookup> {
    const hash = hashSecret(token);
    const now = this.clock().getTime();
    let entry = this.cache.get(hash);
    if (!entry || now - entry.readAt > TOKEN_CACHE_MS) {
      const record = await this.store.byHash(hash);
      if (!record) {
        this.cache.delete(hash);
        return { refused: 'unknown' };
      }
      entry = { record, readAt: now };
      this.cache.set(hash, entry);
    }
    const { record } = entry;
    if (record.revokedAt) return { refused: 'revoked' };
    if (record.expiresAt && record.expiresAt.getTime() <= now) return { refused: 'expired' };
    if (!isRole(record.role)) return { refused: 'bad-role' };
    this.touch(record, now);
    return { principal: { role: record.role, actor: record.name, via: 'api-token', tokenId: record.id } };
  }

  /** Whether any token is unrevoked: then a request without a token is refused (docs/decisions.md). */
  async anyTokens(): Promise<boolean> {
    const now = this.clock().getTime();
    if (!this.anyCached || now - this.anyCached.readAt > TOKEN_CACHE_MS) this.anyCached = { value: await this.store.anyUnrevoked(), readAt: now };
    return this.anyCached.value;
  }

  /** Drops what was read: after this controller created or revoked a token. */
  forget(): void {
    this.cache.clear();
    this.anyCached = undefined;
  }

  private touch(record: ApiTokenRecord, now: number): void {
    const last = Math.max(this.lastWrite.get(record.id) ?? 0, record.lastUsedAt?.getTime() ?? 0);
    if (now - last < LAST_USED_WRITE_MS) return;
    this.lastWrite.set(record.id, now);
    this.store.touch(record.id, new Date(now)).catch((err: unknown) => this.log.warn('could not record an API token\'s use', { tokenId: record.id, err }));
  }
}

export interface AuthOptions {
  /** The shared API_TOKEN (an admin); unset on a loopback controller without one. */
  sharedToken?: string;
  authority: TokenAuthority;
  log: Logger;
  limit?: { failures: number; windowSeconds: number };
}

const REFUSALS: Record<'unknown' | 'revoked' | 'expired' | 'bad-role', string> = {
  unknown: 'missing or wrong API token',
  revoked: 'this API token was revoked: ask an admin for a new one',
  expired: 'this API token has expired: ask an admin for a new one',
  'bad-role': 'this API token has a role the controller does not know',
};

/**
 * Authenticates a request and leaves its Principal in res.locals.principal. A blocked address gets
 * 429 until its window ends, whatever token it sends: otherwise the block would only slow the
 * guessing down, the right guess still being let in.
 */
export function authenticate(options: AuthOptions) {
  const limit = options.limit ?? DEFAULT_AUTH_FAILURE_LIMIT;
  // Hashes have one length: comparing them tells nothing about the token's length.
  const expected = options.sharedToken ? digest(`Bearer ${options.sharedToken}`) : undefined;
  const limiter = new AuthFailureLimiter({ failures: limit.failures, windowMs: limit.windowSeconds * 1000 });
  const failures = new AuthFailureLog(options.log, limit.windowSeconds * 1000);
  const blocked = (address: string, msBeforeNext: number) => {
    failures.refused(address);
    return rateLimited(`too many failed authentications from ${address}; try again in ${Math.ceil(msBeforeNext / 1000)} s`, Math.ceil(msBeforeNext / 1000));
  };

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const address = sourceOf(req);
    const waitMs = await limiter.blockedFor(address);
    if (waitMs > 0) return next(blocked(address, waitMs));
    const given = req.headers.authorization;
    if (given === undefined) {
      // No token at all is not a guess: a browser opening the console before its operator signed
      // in must not lock that operator out. Open only while nothing asks for a token.
      if (!expected && !(await options.authority.anyTokens())) {
        res.locals.principal = { role: 'admin', actor: 'anonymous', via: 'open' } satisfies Principal;
        return next();
      }
      return next(unauthorized('missing API token: send Authorization: Bearer <token>'));
    }
    if (expected && timingSafeEqual(digest(given), expected)) {
      res.locals.principal = { role: 'admin', actor: 'API_TOKEN', via: 'shared-token' } satisfies Principal;
      return next();
    }
    const token = /^Bearer (imt_[A-Za-z0-9_-]{1,200})$/.exec(given)?.[1];
    const found: Lookup = token ? await options.authority.lookup(token) : { refused: 'unknown' };
    if ('principal' in found) {
      res.locals.principal = found.principal;
      return next();
    }
    // A revoked or expired token was real once: a forgotten script using one is no guess, and
    // must not lock its address (and the operator behind it) out.
    if (found.refused !== 'unknown') return next(unauthorized(REFUSALS[found.refused]));
    const after = await limiter.fail(address);
    if (after.count > limit.failures) return next(blocked(address, after.blockedForMs));
    failures.failed(address, 'wrong token', after.count === limit.failures ? after.blockedForMs : undefined);
    next(unauthorized(REFUSALS.unknown));
  };
}

/** The caller authenticate() let in. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: the request was not authenticated');
  return principal;
}

/** Refuses a caller whose role lacks the access; `access` absent: the one roles.ts states for the route. */
export function requireAccess(access?: Access) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const needed = access ?? accessFor(req.method, `${req.baseUrl}${req.path}`);
    const { role } = principalOf(res);
    if (allows(role, needed)) return next();
    const roles = rolesFor(needed);
    next(forbidden(`role ${role} may not ${req.method} ${req.baseUrl}${req.path}: it needs role ${roles.join(' or ')}`, { role, allowedRoles: [...roles] }));
  };
}
