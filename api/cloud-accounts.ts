// /api/cloud-accounts: where the controller's cloud credentials come from. Keys are encrypted at
// rest and never returned; without keys the provider's standard chain (env, instance role) is used.
import { Router } from 'express';
import { z } from 'zod';
import { conflict, invalid, notFound } from '../lib/errors';
import { CredentialsSchema, EndpointsSchema, sealCredentials } from '../cloud/accounts';
import { endpointPolicy, endpointRefusal } from '../cloud/endpoint-policy';
import type { CloudAccount } from '../generated/prisma/client';
import type { ApiContext } from './context';
import { isUniqueViolation } from './db-errors';
import { newAccountId } from './ids';
import { parseBody } from './validate';

const CreateAccount = z
  .object({
    name: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { error: 'letters, digits, space, . _ - only' }),
    provider: z.enum(['aliyun', 'aws'], { error: 'expected "aliyun" or "aws"' }),
    credentials: CredentialsSchema.optional(),
    endpoints: EndpointsSchema.optional(),
  })
  .strict();

export function accountView(a: CloudAccount) {
  return {
    id: a.id,
    name: a.name,
    provider: a.provider,
    credentials: a.credentialsCiphertext ? 'stored (encrypted)' : 'provider default chain',
    endpoints: a.endpoints ? (JSON.parse(a.endpoints) as Record<string, string>) : {},
    createdAt: a.createdAt,
  };
}

export function cloudAccountRoutes(ctx: ApiContext): Router {
  const r = Router();
  // The allow-list comes from the controller's configuration (CLOUD_ENDPOINT_ALLOW), never from a
  // request: an API caller must not be able to send an account's signed requests anywhere.
  const endpoints = endpointPolicy(ctx.cloudEndpointAllow);

  r.post('/', async (req, res) => {
    const body = parseBody(CreateAccount, req.body);
    const endpointKeys = Object.keys(body.endpoints ?? {});
    const allowed = body.provider === 'aws' ? ['ec2'] : ['vpc', 'ecs'];
    const wrong = endpointKeys.filter((k) => !allowed.includes(k));
    if (wrong.length) {
      const message = `${body.provider} takes endpoints ${allowed.join(' and ')}, not ${wrong.join(', ')}`;
      throw invalid(`invalid request: endpoints: ${message}`, { fields: wrong.map((k) => ({ field: `endpoints.${k}`, message })) });
    }
    const checked = body.endpoints ? endpoints.checkEndpoints(body.endpoints) : undefined;
    if (checked && !checked.ok) {
      const message = endpointRefusal(checked.reason);
      throw invalid(`invalid request: ${checked.field}: ${message}`, { fields: [{ field: checked.field, message }] });
    }
    const id = newAccountId();
    try {
      const a = await ctx.db.cloudAccount.create({
        data: {
          id,
          name: body.name,
          provider: body.provider,
          credentialsCiphertext: body.credentials ? sealCredentials(ctx.secretKey, id, body.credentials) : null,
          // Stored normalised: what was checked is what the providers will connect to.
          endpoints: checked?.ok ? JSON.stringify(checked.endpoints) : null,
        },
      });
      ctx.log.info('cloud account added', { accountId: a.id, provider: a.provider, withKeys: !!body.credentials });
      res.status(201).json(accountView(a));
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a cloud account named "${body.name}" already exists`);
      throw err;
    }
  });

  r.get('/', async (_req, res) => {
    const rows = await ctx.db.cloudAccount.findMany({ orderBy: { createdAt: 'asc' } });
    res.json({ accounts: rows.map(accountView) });
  });

  r.get('/:id', async (req, res) => {
    const a = await ctx.db.cloudAccount.findUnique({ where: { id: req.params.id } });
    if (!a) throw notFound('cloud account', req.params.id);
    res.json(accountView(a));
  });

  r.delete('/:id', async (req, res) => {
    const a = await ctx.db.cloudAccount.findUnique({ where: { id: req.params.id }, include: { gateways: { select: { id: true } } } });
    if (!a) throw notFound('cloud account', req.params.id);
    if (a.gateways.length) throw conflict(`cloud account ${a.name} is used by ${a.gateways.length} gateway(s)`, { gateways: a.gateways.map((g) => g.id) });
    await ctx.db.cloudAccount.delete({ where: { id: a.id } });
    res.status(204).end();
  });

  return r;
}
