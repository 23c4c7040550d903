// /api/gateways: register a site, read its presence, rename it, change its networks or where it can
// be reached, rotate its agent's secret, delete it.
import { Router } from 'express';
import { conflict, notFound, unavailable } from '../lib/errors';
import { hashSecret, randomToken } from '../lib/crypto';
import type { ApiContext } from './context';
import { newGatewayId } from './ids';
import { parseBody } from './validate';
import { refuseDefaultRoute } from './cidr-fields';
import { CreateGateway, GatewayCommon, RotateSecret, UpdateGateway } from './gateway-schemas';
import { issueEnrolmentToken } from './enrolment-tokens';
import { gatewayView } from './views';
import { buildPlan } from '../activities/plan';
import { DuplicateError, isForeignKeyViolation, type GatewayRecord, type LinkWithEnds, type NewGateway } from '../store';
import { contains, firstOverlap, parseCidr } from '../lib/cidr';

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
    res.status(201).json({ ...gatewayView(created, ctx.view()), agentSecret: secret, agentUrl: ctx.agentUrl?.(req.hostname) ?? null });
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

  // Name (any gateway); an on-prem site's networks and where it can be reached. One transaction:
  // a refusal stores nothing. Networks a live link carries must stay, and a network added must not
  // overlap what one of its links reaches at the other end. Reachability changes re-plan the live
  // links (who initiates, what each end accepts); one that would leave a link with no end to
  // connect to is refused.
  r.patch('/:id', async (req, res) => {
    const body = parseBody(UpdateGateway, req.body);
    refuseDefaultRoute('cidrs', body.cidrs, body.allowDefaultRoute);
    const reachability = body.publicIp !== undefined || body.inbound !== undefined;
    let result: { gateway: GatewayRecord; links: LinkWithEnds[] };
    try {
      result = await ctx.store.transaction(async (tx) => {
        const current = await tx.gateways.get(req.params.id);
        if (!current) throw notFound('gateway', req.params.id);
        if (current.provider !== 'onprem' && reachability) throw conflict(`gateway ${current.name} is in ${current.provider}: its address is the one discovery confirmed; register the new address as a new gateway`);
        if (current.provider !== 'onprem' && body.cidrs) throw conflict(`gateway ${current.name} is in ${current.provider}: its networks are its VPC's CIDR blocks, as discovered`);
        const next = {
          ...current,
          ...(body.cidrs ? { cidrs: body.cidrs } : {}),
          ...(body.publicIp !== undefined ? { publicIp: body.publicIp } : {}),
          ...(body.inbound !== undefined ? { inbound: body.inbound } : {}),
        };
        const live = await tx.links.liveWithEndsOf(current.id);
        if (body.cidrs) assertNetworksKeepLinks(current, body.cidrs, live);
        if (reachability) {
          for (const link of live) {
            const plan = buildPlan({ ...link, a: link.aId === current.id ? next : link.a, b: link.bId === current.id ? next : link.b });
            if (plan.refused) throw conflict(`link ${link.id} would have no end to connect to: ${plan.refused}`, { link: link.id });
          }
        }
        let gateway = current;
        if (body.name !== undefined || body.cidrs) gateway = await tx.gateways.update(current.id, { ...(body.name !== undefined ? { name: body.name } : {}), ...(body.cidrs ? { cidrs: body.cidrs } : {}) });
        if (reachability) gateway = await tx.gateways.setReachability(current.id, { publicIp: next.publicIp, inbound: next.inbound });
        return { gateway, links: reachability ? live : [] };
      });
    } catch (err) {
      if (err instanceof DuplicateError) throw conflict(`a gateway named "${body.name}" already exists`);
      throw err;
    }
    const { gateway, links } = result;
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
    ctx.log.info('gateway updated', { gatewayId: gateway.id, fields: Object.keys(body).filter((key) => key !== 'allowDefaultRoute') });
    res.json({ ...gatewayView(gateway, ctx.view()), ...(failed.length ? { linksNotYetReplanned: failed } : {}) });
  });

  // Only a gateway no live link uses can go. Its agent is disconnected by whichever controller
  // holds it (the hubs follow the change log, see GatewayHub.recheck) and refused from then on;
  // its enrolment tokens go with it.
  r.delete('/:id', async (req, res) => {
    let outcome: Awaited<ReturnType<typeof ctx.store.gateways.delete>>;
    const gateway = await ctx.store.gateways.get(req.params.id);
    if (!gateway) throw notFound('gateway', req.params.id);
    try {
      outcome = await ctx.store.gateways.delete(gateway.id);
    } catch (err) {
      // A link to it was created between the check and the delete: its foreign key refused.
      if (!isForeignKeyViolation(err)) throw err;
      outcome = { liveLinks: (await ctx.store.links.liveOf([gateway.id])).map((link) => link.id) };
    }
    if (outcome === 'missing') throw notFound('gateway', req.params.id);
    if (outcome !== 'deleted') {
      throw conflict(`gateway ${gateway.name} is used by link${outcome.liveLinks.length > 1 ? 's' : ''} ${outcome.liveLinks.join(', ')}; delete ${outcome.liveLinks.length > 1 ? 'them' : 'it'} first`, { links: outcome.liveLinks });
    }
    // A discovery still running would otherwise retry its writes against a gateway that is gone.
    if (gateway.provider !== 'onprem') await ctx.links.stopDiscovery?.(gateway.id).catch((err: unknown) => ctx.log.warn('could not stop the deleted gateway\'s discovery', { gatewayId: gateway.id, err }));
    ctx.log.info('gateway deleted', { gatewayId: gateway.id, name: gateway.name });
    res.status(204).end();
  });

  // A new agent secret, shown once; the old one stops working at once: the controller holding
  // the agent closes its socket (CloseCode.secretRotated) and refuses the old secret from then on.
  r.post('/:id/secret', async (req, res) => {
    parseBody(RotateSecret, req.body ?? {});
    const secret = randomToken();
    if (!(await ctx.store.gateways.rotateSecret(req.params.id, hashSecret(secret)))) throw notFound('gateway', req.params.id);
    const gateway = await ctx.store.gateways.get(req.params.id);
    if (!gateway) throw notFound('gateway', req.params.id);
    ctx.log.info('agent secret rotated', { gatewayId: gateway.id });
    res.json({ ...gatewayView(gateway, ctx.view()), agentSecret: secret, agentUrl: ctx.agentUrl?.(req.hostname) ?? null });
  });

  r.post('/:id/enrolment-token', issueEnrolmentToken(ctx));

  return r;
}

/** A new set of networks must keep what live links carry, and not overlap what they reach. */
function assertNetworksKeepLinks(gateway: GatewayRecord, cidrs: string[], live: LinkWithEnds[]): void {
  const added = cidrs.filter((cidr) => !gateway.cidrs.includes(cidr));
  for (const link of live) {
    const here = link.aId === gateway.id;
    const carried = here ? link.aCidrs : link.bCidrs;
    const lost = carried.find((c) => !cidrs.some((own) => contains(parseCidr(own), parseCidr(c))));
    if (lost) throw conflict(`link ${link.id} carries ${lost}, which the new networks of ${gateway.name} no longer include; change that link's CIDRs or delete it first`, { link: link.id, cidr: lost });
    const peer = here ? link.b : link.a;
    const remote = [...new Set([...(here ? link.bCidrs : link.aCidrs), ...peer.cidrs])];
    const clash = firstOverlap(added, remote);
    if (clash) throw conflict(`${clash[0]} overlaps ${clash[1]} of ${peer.name}, the other end of link ${link.id}`, { link: link.id, cidr: clash[0] });
  }
}
