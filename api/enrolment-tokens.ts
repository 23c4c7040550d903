// POST /api/gateways/:id/enrolment-token: a short-lived, single-use token an agent trades for its
// long-lived secret on first connect, so an install command that leaks stops being useful soon.
import type { Request, Response } from 'express';
import { notFound } from '../lib/errors';
import { hashSecret, randomToken } from '../lib/crypto';
import type { ApiContext } from './context';
import { newEnrolmentTokenId } from './ids';
import { parseBody } from './validate';
import { IssueEnrolmentToken } from './gateway-schemas';

const DEFAULT_TTL_SECONDS = 3600;

export function issueEnrolmentToken(ctx: ApiContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const body = parseBody(IssueEnrolmentToken, req.body);
    const now = ctx.clock?.() ?? new Date();
    const expiresAt = new Date(now.getTime() + (body.ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000);
    const token = randomToken();
    const id = newEnrolmentTokenId();
    const gatewayId = req.params.id;
    // The newest token replaces earlier unused ones (see GatewayStore.issueEnrolmentToken).
    if (!(await ctx.store.gateways.issueEnrolmentToken({ id, gatewayId, tokenHash: hashSecret(token), expiresAt }))) throw notFound('gateway', gatewayId);
    ctx.log.info('enrolment token issued', { gatewayId, tokenId: id, expiresAt });
    // Shown exactly once; only its hash is stored.
    res.status(201).json({ gatewayId, token, expiresAt: expiresAt.toISOString(), install: `GATEWAY_ID=${gatewayId}\nENROLMENT_TOKEN=${token}\n` });
  };
}
