// /api/gateways: register a site, read its presence, correct where it can be reached.
import { Router } from 'express';
import { z } from 'zod';
import { isIP } from 'node:net';
import { isUniqueViolation } from './db-errors';
import { conflict, notFound, unavailable } from '../lib/errors';
import { normaliseIp } from '../lib/net';
import { hashSecret, randomToken } from '../lib/crypto';
import type { ApiContext } from './context';
import { newGatewayId } from './ids';
import { parseBody } from './validate';
import { allowDefaultRoute, cidrList, refuseDefaultRoute } from './cidr-fields';
import { issueEnrolmentToken } from './enrolment-tokens';
import { gatewayView } from './views';
import { buildPlan } from '../activities/plan';

const name = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, { error: 'letters, digits, space, . _ - only' });
/** An IPv4-mapped address is kept as the IPv4 address it is; a zone id belongs to one host's interface. */
const ip = z
  .string()
  .refine((s) => isIP(s) !== 0 && !s.includes('%'), { error: 'expected an IPv4 or IPv6 address (without a zone id such as %eth0)' })
  .transform((s) => normaliseIp(s) ?? s);

/** Whether peers can open a connection to the site (false: a masquerading NAT, a firewall letting nothing in). */
const inbound = z.boolean({ error: 'expected true or false' });
const OnpremGateway = z.object({ name, provider: z.literal('onprem'), cidrs: cidrList, publicIp: ip.optional(), inbound: inbound.optional(), allowDefaultRoute }).strict();
/** What an operator may correct about a site's reachability later; null clears a statement. */
const UpdateGateway = z
  .object({ publicIp: ip.nullable().optional(), inbound: inbound.nullable().optional() })
  .strict()
  .refine((u) => u.publicIp !== undefined || u.inbound !== undefined, { error: 'give publicIp, inbound or both (null clears one)' });
/** A cloud gateway is described by its public IP alone; everything else is discovered. */
const CloudGateway = z
  .object({
    name,
    provider: z.enum(['aliyun', 'aws']),
    region: z.string().regex(/^[a-z]{2}(-[a-z0-9]+)+$/, { error: 'expected a region id such as cn-hangzhou or us-east-1' }),
    publicIp: ip,
    account: z.string().min(1, { error: 'expected a cloud account id' }),
    /** Route tables to write; default: every route table of the VPC. */
    routeTables: z.array(z.string().min(1)).min(1).max(50).optional(),
  })
  .strict();
const CreateGateway = z.discriminatedUnion('provider', [OnpremGateway, CloudGateway]);
/** Checked first, so a body missing both name and provider hears about both. */
const Common = z.looseObject({ name, provider: z.enum(['onprem', 'aliyun', 'aws'], { error: 'expected "onprem", "aliyun" or "aws"' }) });

export function gatewayRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    parseBody(Common, req.body);
    const body = parseBody(CreateGateway, req.body);
    if (body.provider === 'onprem') refuseDefaultRoute('cidrs', body.cidrs, body.allowDefaultRoute);
    const secret = randomToken();
    const id = newGatewayId();
    let data: Parameters<typeof ctx.db.gateway.create>[0]['data'];
    if (body.provider === 'onprem') {
      data = { id, name: body.name, provider: body.provider, cidrs: JSON.stringify(body.cidrs), publicIp: body.publicIp ?? null, inbound: body.inbound ?? null, secretHash: hashSecret(secret) };
    } else {
      const account = await ctx.db.cloudAccount.findUnique({ where: { id: body.account } });
      if (!account) throw notFound('cloud account', body.account);
      if (account.provider !== body.provider) throw conflict(`cloud account ${account.name} is for ${account.provider}, not ${body.provider}`);
      data = {
        id,
        name: body.name,
        provider: body.provider,
        cidrs: '[]',
        publicIp: body.publicIp,
        secretHash: hashSecret(secret),
        accountId: account.id,
        region: body.region,
        state: 'discovering',
        routeTablesWanted: body.routeTables ? JSON.stringify(body.routeTables) : null,
      };
    }
    let g;
    try {
      g = await ctx.db.gateway.create({ data });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a gateway named "${body.name}" already exists`);
      throw err;
    }
    if (body.provider !== 'onprem') {
      try {
        await ctx.links.startDiscovery(id, { provider: body.provider, accountId: body.account, region: body.region }, body.publicIp);
      } catch (err) {
        await ctx.db.gateway.delete({ where: { id } });
        ctx.log.error('could not start discovery', { gatewayId: id, err });
        throw unavailable('the workflow service is unreachable; nothing was created, try again');
      }
    }
    ctx.log.info('gateway registered', { gatewayId: g.id, name: g.name, provider: g.provider });
    // The secret is shown exactly once; only its hash is stored.
    res.status(201).json({ ...gatewayView(g, ctx.view()), agentSecret: secret });
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

  // Where the site can be reached: its public address and whether peers can connect in. Its live
  // links re-plan (who initiates, what each end accepts); a change that would leave one of them
  // with no end to connect to is refused, and nothing is stored.
  r.patch('/:id', async (req, res) => {
    const body = parseBody(UpdateGateway, req.body);
    const { gateway, links } = await ctx.db.$transaction(async (tx) => {
      const g = await tx.gateway.findUnique({ where: { id: req.params.id } });
      if (!g) throw notFound('gateway', req.params.id);
      if (g.provider !== 'onprem') throw conflict(`gateway ${g.name} is in ${g.provider}: its address is the one discovery confirmed; register the new address as a new gateway`);
      const next = { ...g, ...(body.publicIp !== undefined ? { publicIp: body.publicIp } : {}), ...(body.inbound !== undefined ? { inbound: body.inbound } : {}) };
      const live = await tx.link.findMany({ where: { deletedAt: null, OR: [{ aId: g.id }, { bId: g.id }] }, include: { a: true, b: true } });
      for (const l of live) {
        const plan = buildPlan({ ...l, a: l.aId === g.id ? next : l.a, b: l.bId === g.id ? next : l.b });
        if (plan.refused) throw conflict(`link ${l.id} would have no end to connect to: ${plan.refused}`, { link: l.id });
      }
      const updated = await tx.gateway.update({ where: { id: g.id }, data: { publicIp: next.publicIp, inbound: next.inbound } });
      return { gateway: updated, links: live };
    });
    // The links follow the change on their own once told; one that is not told now re-plans at
    // its gateway's next reconnect.
    const failed: string[] = [];
    await Promise.all(
      links.map((l) =>
        ctx.links.reconfigure(l.workflowId, 'endpoint').catch((err: unknown) => {
          failed.push(l.id);
          ctx.log.warn('could not tell a link workflow about a gateway change', { linkId: l.id, err });
        }),
      ),
    );
    ctx.log.info('gateway reachability updated', { gatewayId: gateway.id, publicIp: gateway.publicIp, inbound: gateway.inbound });
    res.json({ ...gatewayView(gateway, ctx.view()), ...(failed.length ? { linksNotYetReplanned: failed } : {}) });
  });

  r.post('/:id/enrolment-token', issueEnrolmentToken(ctx));

  return r;
}
