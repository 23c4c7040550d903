// /api/gateways: register a site, read its presence, correct where it can be reached.
import { Router } from 'express';
import { conflict, notFound, unavailable } from '../lib/errors';
import { hashSecret, randomToken } from '../lib/crypto';
import type { ApiContext } from './context';
import { newGatewayId } from './ids';
import { parseBody } from './validate';
import { refuseDefaultRoute } from './cidr-fields';
import { CreateGateway, GatewayCommon, UpdateGateway } from './gateway-schemas';
import { issueEnrolmentToken } from './enrolment-tokens';
import { gatewayView } from './views';
import { buildPlan } from '../activities/plan';
import { DuplicateError, type NewGateway } from '../store';

export function gatewayRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    parseBody(GatewayCommon, req.body);
    const body = parseBody(CreateGateway, req.body);
    if (body.provider === 'onprem') refuseDefaultRoute('cidrs', body.cidrs, body.allowDefaultRoute);
    const secret = randomToken();
    const id = newGatewayId();
    let gateway: NewGateway;
    if (body.provider === 'onprem') {
      gateway = { id, name: body.name, provider: body.provider, cidrs: body.cidrs, publicIp: body.publicIp ?? null, inbound: body.inbound ?? null, secretHash: hashSecret(secret) };
    } else {
      const account = await ctx.store.accounts.get(body.account);
      if (!account) throw notFound('cloud account', body.account);
      if (account.provider !== body.provider) throw conflict(`cloud account ${account.name} is for ${account.provider}, not ${body.provider}`);
      gateway = {
        id,
        name: body.name,
        provider: body.provider,
        cidrs: [],
        publicIp: body.publicIp,
        secretHash: hashSecret(secret),
        cloud: { accountId: account.id, region: body.region, routeTablesWanted: body.routeTables ?? null },
      };
    }
    let created;
    try {
      created = await ctx.store.gateways.create(gateway);
    } catch (err) {
      if (err instanceof DuplicateError) throw conflict(`a gateway named "${body.name}" already exists`);
      throw err;
    }
    if (body.provider !== 'onprem') {
      try {
        await ctx.links.startDiscovery(id, { provider: body.provider, accountId: body.account, region: body.region }, body.publicIp);
      } catch (err) {
        await ctx.store.gateways.remove(id);
        ctx.log.error('could not start discovery', { gatewayId: id, err });
        throw unavailable('the workflow service is unreachable; nothing was created, try again');
      }
    }
    ctx.log.info('gateway registered', { gatewayId: created.id, name: created.name, provider: created.provider });
    // The secret is shown exactly once; only its hash is stored.
    res.status(201).json({ ...gatewayView(created, ctx.view()), agentSecret: secret });
  });

  r.get('/', async (_req, res) => {
    const gateways = await ctx.store.gateways.list();
    const view = ctx.view();
    res.json({ gateways: gateways.map((gateway) => gatewayView(gateway, view)) });
  });

  r.get('/:id', async (req, res) => {
    const gateway = await ctx.store.gateways.get(req.params.id);
    if (!gateway) throw notFound('gateway', req.params.id);
    res.json(gatewayView(gateway, ctx.view()));
  });

  // Where the site can be reached: its public address and whether peers can connect in. Its live
  // links re-plan (who initiates, what each end accepts); a change that would leave one of them
  // with no end to connect to is refused, and nothing is stored.
  r.patch('/:id', async (req, res) => {
    const body = parseBody(UpdateGateway, req.body);
    const { gateway, links } = await ctx.store.transaction(async (tx) => {
      const current = await tx.gateways.get(req.params.id);
      if (!current) throw notFound('gateway', req.params.id);
      if (current.provider !== 'onprem') throw conflict(`gateway ${current.name} is in ${current.provider}: its address is the one discovery confirmed; register the new address as a new gateway`);
      const next = { ...current, ...(body.publicIp !== undefined ? { publicIp: body.publicIp } : {}), ...(body.inbound !== undefined ? { inbound: body.inbound } : {}) };
      const live = await tx.links.liveWithEndsOf(current.id);
      for (const link of live) {
        const plan = buildPlan({ ...link, a: link.aId === current.id ? next : link.a, b: link.bId === current.id ? next : link.b });
        if (plan.refused) throw conflict(`link ${link.id} would have no end to connect to: ${plan.refused}`, { link: link.id });
      }
      const updated = await tx.gateways.setReachability(current.id, { publicIp: next.publicIp, inbound: next.inbound });
      return { gateway: updated, links: live };
    });
    // The links follow the change on their own once told; one that is not told now re-plans at
    // its gateway's next reconnect.
    const failed: string[] = [];
    await Promise.all(
      links.map((link) =>
        ctx.links.reconfigure(link.workflowId, 'endpoint').catch((err: unknown) => {
          failed.push(link.id);
          ctx.log.warn('could not tell a link workflow about a gateway change', { linkId: link.id, err });
        }),
      ),
    );
    ctx.log.info('gateway reachability updated', { gatewayId: gateway.id, publicIp: gateway.publicIp, inbound: gateway.inbound });
    res.json({ ...gatewayView(gateway, ctx.view()), ...(failed.length ? { linksNotYetReplanned: failed } : {}) });
  });

  r.post('/:id/enrolment-token', issueEnrolmentToken(ctx));

  return r;
}
