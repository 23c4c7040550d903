// /api/gateways: register a site and read its presence.
import { Router } from 'express';
import { z } from 'zod';
import { isIP } from 'node:net';
import { isUniqueViolation } from './db-errors';
import { conflict, notFound } from '../lib/errors';
import { CidrError, normaliseCidrList } from '../lib/cidr';
import { hashSecret, randomToken } from '../lib/crypto';
import type { ApiContext } from './context';
import { newGatewayId } from './ids';
import { parseBody } from './validate';
import { gatewayView } from './views';

const cidrList = z
  .array(z.string(), { error: 'expected an array of CIDR strings' })
  .min(1, { error: 'at least one CIDR is required' })
  .max(64)
  .transform((list, ctx) => {
    try {
      return normaliseCidrList(list);
    } catch (err) {
      if (!(err instanceof CidrError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });

const CreateGateway = z.object({
  name: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { error: 'letters, digits, space, . _ - only' }),
  provider: z.literal('onprem', { error: 'expected "onprem" (cloud providers come with cloud accounts)' }),
  cidrs: cidrList,
  publicIp: z.string().refine((s) => isIP(s) !== 0, { error: 'expected an IPv4 or IPv6 address' }).optional(),
});

export function gatewayRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const body = parseBody(CreateGateway, req.body);
    const secret = randomToken();
    try {
      const g = await ctx.db.gateway.create({
        data: { id: newGatewayId(), name: body.name, provider: body.provider, cidrs: JSON.stringify(body.cidrs), publicIp: body.publicIp ?? null, secretHash: hashSecret(secret) },
      });
      ctx.log.info('gateway registered', { gatewayId: g.id, name: g.name });
      // The secret is shown exactly once; only its hash is stored.
      res.status(201).json({ ...gatewayView(g, ctx.view()), agentSecret: secret });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a gateway named "${body.name}" already exists`);
      throw err;
    }
  });

  r.get('/', async (_req, res) => {
    const rows = await ctx.db.gateway.findMany({ orderBy: { createdAt: 'asc' } });
    const view = ctx.view();
    res.json({ gateways: rows.map((g) => gatewayView(g, view)) });
  });

  r.get('/:id', async (req, res) => {
    const g = await ctx.db.gateway.findUnique({ where: { id: req.params.id } });
    if (!g) throw notFound('gateway', req.params.id);
    res.json(gatewayView(g, ctx.view()));
  });

  return r;
}
