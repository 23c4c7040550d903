// /api/tokens (admin) and /api/whoami (any role): API tokens with roles. A token is shown once,
// when issued; the database keeps its SHA-256 and its first characters.
import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { hashSecret, randomToken } from '../lib/crypto';
import { notFound } from '../lib/errors';
import type { ApiTokenRecord, TokenStore } from '../store';
import { principalOf, TOKEN_PREFIX, type TokenAuthority } from './auth';
import type { ApiContext } from './context';
import type { Role } from './roles';
import { iso, isoOrNull } from './schemas/common';
import { CreateApiToken, type ApiTokenListView, type ApiTokenView, type IssuedApiTokenView, type WhoAmIView } from './schemas/tokens';
import { parseBody } from './validate';

const DAY_MS = 86_400_000;
/** What lists show of a token: the prefix and 8 characters of its random part. */
const SHOWN = TOKEN_PREFIX.length + 8;

export function tokenView(record: ApiTokenRecord, now: Date): ApiTokenView {
  const state = record.revokedAt ? 'revoked' : record.expiresAt && record.expiresAt <= now ? 'expired' : 'active';
  return {
    id: record.id,
    name: record.name,
    role: record.role as Role,
    prefix: record.prefix,
    createdBy: record.createdBy,
    createdAt: iso(record.createdAt),
    expiresAt: isoOrNull(record.expiresAt),
    lastUsedAt: isoOrNull(record.lastUsedAt),
    revokedAt: isoOrNull(record.revokedAt),
    state,
  };
}

/** Issues a token: stores its hash, returns the record and the token (the API and the CLI show it once). */
export async function issueToken(store: TokenStore, request: { name: string; role: Role; expiresInDays?: number; createdBy: string }, now: Date): Promise<{ record: ApiTokenRecord; token: string }> {
  const token = `${TOKEN_PREFIX}${randomToken(32)}`;
  const record = await store.create({
    id: `tk${randomBytes(8).toString('hex')}`,
    name: request.name,
    role: request.role,
    tokenHash: hashSecret(token),
    prefix: `${token.slice(0, SHOWN)}…`,
    expiresAt: request.expiresInDays ? new Date(now.getTime() + request.expiresInDays * DAY_MS) : null,
    createdBy: request.createdBy,
  });
  return { record, token };
}

export function tokenRoutes(ctx: ApiContext, authority: TokenAuthority): Router {
  const r = Router();
  const now = () => (ctx.clock ? ctx.clock() : new Date());

  r.post('/', async (req, res) => {
    const body = parseBody(CreateApiToken, req.body);
    const { record, token } = await issueToken(ctx.store.tokens, { ...body, createdBy: principalOf(res).actor }, now());
    authority.forget();
    ctx.log.info('API token issued', { tokenId: record.id, role: record.role, by: record.createdBy });
    res.status(201).json({ ...tokenView(record, now()), token } satisfies IssuedApiTokenView);
  });

  r.get('/', async (_req, res) => {
    const at = now();
    res.json({ tokens: (await ctx.store.tokens.list()).map((t) => tokenView(t, at)) } satisfies ApiTokenListView);
  });

  r.delete('/:id', async (req, res) => {
    const record = await ctx.store.tokens.get(req.params.id);
    if (!record) throw notFound('API token', req.params.id);
    // Revoking twice is fine: the first time stands.
    if (await ctx.store.tokens.revoke(record.id, now())) ctx.log.info('API token revoked', { tokenId: record.id, by: principalOf(res).actor });
    authority.forget();
    res.status(204).end();
  });

  return r;
}

export function whoamiRoute(): Router {
  const r = Router();
  r.get('/whoami', (_req, res) => {
    const { role, actor, via, tokenId } = principalOf(res);
    res.json({ role, actor, via, ...(tokenId ? { tokenId } : {}) } satisfies WhoAmIView);
  });
  return r;
}
