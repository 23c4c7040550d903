// /api/links: connect two gateways, read a link's state and history, change the networks it
// carries (with a dry-run preview), rotate its key, delete it.
import { Router } from 'express';
import { z } from 'zod';
import { AppError, conflict, notFound, unavailable } from '../lib/errors';
import { firstOverlap, parseCidr, contains } from '../lib/cidr';
import { encrypt, randomToken } from '../lib/crypto';
import { liveLinksOf, parseJsonList } from '../activities/store-helpers';
import { linkWorkflowId } from '../contracts/link-workflow';
import type { Db } from '../db';
import type { ApiContext } from './context';
import { isUniqueViolation } from './db-errors';
import { newLinkId } from './ids';
import { parseBody } from './validate';
import { linkView } from './views';
import { allowDefaultRoute, cidrList, refuseDefaultRoute } from './cidr-fields';
import { assertChangeable, CIDR_CHANGE } from './link-state';
import { rotateLinkKey } from './link-keys';
import { buildPlan } from '../activities/plan';
import { chooseInitiator, reachabilityOf } from '../activities/reachability';
import { configFor, describeChange, diffPlans, type LinkPlan, type PlanChange } from '../contracts/link-plan';
import type { Gateway, Link } from '../generated/prisma/client';

const CreateLink = z.object({
  a: z.string().min(1, { error: 'expected a gateway id' }),
  b: z.string().min(1, { error: 'expected a gateway id' }),
  /** Networks the link carries at each end; defaults to each gateway's networks. */
  cidrs: z.object({ a: cidrList.optional(), b: cidrList.optional() }).strict().optional(),
  allowDefaultRoute,
}).strict();

/** PATCH /api/links/:id and POST /api/links/:id/plan: the networks the link carries at each end. */
const ChangeLink = z.object({
  cidrs: z
    .object({ a: cidrList.optional(), b: cidrList.optional() })
    .strict()
    .refine((c) => c.a !== undefined || c.b !== undefined, { error: 'give cidrs.a, cidrs.b or both' }),
  /** Allow CIDRs outside the gateway's discovered/registered networks (e.g. networks routed behind it). */
  allowOutsideNetworks: z.boolean().optional(),
  allowDefaultRoute,
}).strict();

/** POST /api/links/:id/rotate-key takes no options (an empty object, or no body). */
const RotateKey = z.object({}).strict();

/** Given CIDRs that are a default route are refused unless the body says allowDefaultRoute (400 before any lookup). */
function checkDefaultRoutes(body: Pick<z.infer<typeof ChangeLink>, 'allowDefaultRoute'> & { cidrs?: { a?: string[]; b?: string[] } }): void {
  refuseDefaultRoute('cidrs.a', body.cidrs?.a, body.allowDefaultRoute);
  refuseDefaultRoute('cidrs.b', body.cidrs?.b, body.allowDefaultRoute);
}

const pairKey = (x: string, y: string): string => (x < y ? `${x}|${y}` : `${y}|${x}`);
const ACTIVE = { deletedAt: null } as const;

export function linkRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const body = parseBody(CreateLink, req.body);
    checkDefaultRoutes(body);
    if (body.a === body.b) throw conflict('a gateway cannot be linked to itself', { gateway: body.a });
    const link = await createLink(ctx, body);
    try {
      await ctx.links.start(link.id, link.workflowId);
    } catch (err) {
      // Refused requests store nothing: without a workflow the link would never progress.
      await ctx.db.$transaction([ctx.db.linkEvent.deleteMany({ where: { linkId: link.id } }), ctx.db.link.delete({ where: { id: link.id } })]);
      ctx.log.error('could not start link workflow', { linkId: link.id, err });
      throw unavailable('the workflow service is unreachable; nothing was created, try again');
    }
    res.status(202).json(linkView(link, ctx.view()));
  });

  r.get('/', async (req, res) => {
    const includeDeleted = req.query.includeDeleted === 'true';
    const rows = await ctx.db.link.findMany({ where: includeDeleted ? {} : ACTIVE, include: { a: true, b: true }, orderBy: { createdAt: 'asc' } });
    const view = ctx.view();
    res.json({ links: rows.map((l) => linkView(l, view)) });
  });

  r.get('/:id', async (req, res) => {
    const l = await ctx.db.link.findUnique({ where: { id: req.params.id }, include: { a: true, b: true, events: { orderBy: { id: 'asc' } } } });
    if (!l) throw notFound('link', req.params.id);
    res.json(linkView(l, ctx.view()));
  });

  // The change a PATCH would make, without making it: configs, routes and rules, before and after.
  r.post('/:id/plan', async (req, res) => {
    const body = parseBody(ChangeLink, req.body);
    checkDefaultRoutes(body);
    const checked = await checkChange(ctx.db, req.params.id, body);
    res.json(previewChange(checked));
  });

  r.patch('/:id', async (req, res) => {
    const body = parseBody(ChangeLink, req.body);
    checkDefaultRoutes(body);
    // Validated and stored in one transaction: a conflicting change on another link of the same
    // gateway cannot slip in between the checks and the write.
    const stored = await ctx.db.$transaction(async (tx) => {
      const checked = await checkChange(tx, req.params.id, body);
      if (checked.change.none) return { checked, event: undefined };
      const { link } = checked;
      await tx.link.update({ where: { id: link.id }, data: { aCidrs: JSON.stringify(checked.to.a.cidrs), bCidrs: JSON.stringify(checked.to.b.cidrs), state: 'updating', stateReason: null } });
      const event = await tx.linkEvent.create({
        data: {
          linkId: link.id,
          type: 'cidr.change_requested',
          message: `CIDR change requested: ${describeChange(checked.from, checked.to, checked.change)}`,
          data: JSON.stringify({ from: { a: checked.from.a.cidrs, b: checked.from.b.cidrs }, to: { a: checked.to.a.cidrs, b: checked.to.b.cidrs } }),
        },
      });
      return { checked, event };
    });
    const { link } = stored.checked;
    if (!stored.event) {
      res.status(200).json({ ...linkView(link, ctx.view()), plan: previewChange(stored.checked) });
      return;
    }
    try {
      await ctx.links.reconfigure(link.workflowId);
    } catch (err) {
      // Without the workflow nothing would apply the change: put the link back as it was.
      await ctx.db.$transaction([
        ctx.db.link.update({ where: { id: link.id }, data: { aCidrs: link.aCidrs, bCidrs: link.bCidrs, state: link.state, stateReason: link.stateReason } }),
        ctx.db.linkEvent.delete({ where: { id: stored.event.id } }),
      ]);
      ctx.log.error('could not signal link workflow', { linkId: link.id, err });
      throw unavailable('the workflow service is unreachable; the link was not changed, try again');
    }
    const after = await ctx.db.link.findUniqueOrThrow({ where: { id: link.id }, include: { a: true, b: true } });
    res.status(202).json({ ...linkView(after, ctx.view()), plan: previewChange(stored.checked) });
  });

  // A new pre-shared key for both ends, pushed by the link's workflow (see link-keys.ts).
  r.post('/:id/rotate-key', async (req, res) => {
    parseBody(RotateKey, req.body);
    const rotated = await rotateLinkKey({ db: ctx.db, secretKey: ctx.secretKey, links: ctx.links, log: ctx.log, clock: ctx.clock ?? (() => new Date()) }, req.params.id, { reason: 'operator' });
    res.status(202).json(linkView(rotated, ctx.view()));
  });

  r.delete('/:id', async (req, res) => {
    const l = await ctx.db.link.findUnique({ where: { id: req.params.id }, include: { a: true, b: true } });
    if (!l) throw notFound('link', req.params.id);
    if (l.state === 'deleted') throw conflict(`link ${l.id} is already deleted`);
    if (l.state !== 'deleting') {
      try {
        await ctx.links.requestDelete(l.workflowId);
      } catch (err) {
        if (err instanceof AppError) throw err;
        ctx.log.error('could not request link deletion', { linkId: l.id, err });
        throw unavailable('the workflow service is unreachable; the link was not changed, try again');
      }
      // The workflow accepted the delete: show it at once, so a change asked for now is refused
      // (conditional: the workflow may already have finished and written "deleted").
      await ctx.db.link.updateMany({ where: { id: l.id, deletedAt: null, NOT: { state: 'deleted' } }, data: { state: 'deleting' } });
    }
    res.status(202).json(linkView({ ...l, state: 'deleting' }, ctx.view()));
  });

  return r;
}

/** Validates and stores a new link in one transaction; a refusal stores nothing. */
async function createLink(ctx: ApiContext, body: z.infer<typeof CreateLink>) {
  return ctx.db.$transaction(async (tx) => {
    const both = await tx.gateway.findMany({ where: { id: { in: [body.a, body.b] } } });
    const a = both.find((g) => g.id === body.a);
    const b = both.find((g) => g.id === body.b);
    if (!a) throw notFound('gateway', body.a);
    if (!b) throw notFound('gateway', body.b);
    for (const g of [a, b]) {
      if (g.state === 'discovering') throw conflict(`gateway ${g.name} is still being discovered; try again in a moment`, { gateway: g.id });
      if (g.state === 'failed') throw conflict(`gateway ${g.name} cannot be linked: discovery failed: ${g.stateReason ?? 'unknown reason'}`, { gateway: g.id });
    }
    const aCidrs = chooseCidrs('a', body.cidrs?.a, parseJsonList(a.cidrs), a.name);
    const bCidrs = chooseCidrs('b', body.cidrs?.b, parseJsonList(b.cidrs), b.name);
    assertNoOverlap(aCidrs, bCidrs, a.name, b.name);
    assertOneEndReachable(a, b);
    // One read of both gateways' live links serves the pair check and both route checks.
    const live = await liveLinksOf(tx, [a.id, b.id]);
    const existing = live.find((l) => l.activePairKey === pairKey(a.id, b.id));
    if (existing) throw conflict(`gateways ${a.name} and ${b.name} are already linked by ${existing.id}`, { link: existing.id });
    assertNoRouteClash(live, a.id, a.name, bCidrs);
    assertNoRouteClash(live, b.id, b.name, aCidrs);
    const id = newLinkId();
    try {
      const created = await tx.link.create({
        data: {
          id,
          aId: a.id,
          bId: b.id,
          activePairKey: pairKey(a.id, b.id),
          state: 'provisioning',
          aCidrs: JSON.stringify(aCidrs),
          bCidrs: JSON.stringify(bCidrs),
          pskCiphertext: encrypt(ctx.secretKey, randomToken(32), { table: 'Link', id }),
          workflowId: linkWorkflowId(id),
          events: { create: { type: 'link.requested', message: `link requested between ${a.name} and ${b.name}`, data: JSON.stringify({ aCidrs, bCidrs }) } },
        },
      });
      return { ...created, a, b };
    } catch (err) {
      // Two concurrent requests for the same pair: the unique key decides.
      if (isUniqueViolation(err)) throw conflict(`gateways ${a.name} and ${b.name} are already linked`);
      throw err;
    }
  });
}

type LinkRow = Link & { a: Gateway; b: Gateway };
interface CheckedChange {
  link: LinkRow;
  from: LinkPlan;
  to: LinkPlan;
  change: PlanChange;
}

/** Everything a CIDR change must satisfy before anything is stored (409 names what it clashes with). */
async function checkChange(tx: Pick<Db, 'link'>, id: string, body: z.infer<typeof ChangeLink>): Promise<CheckedChange> {
  const link = await tx.link.findUnique({ where: { id }, include: { a: true, b: true } });
  if (!link) throw notFound('link', id);
  assertChangeable(link, CIDR_CHANGE);
  const current = { a: parseJsonList(link.aCidrs), b: parseJsonList(link.bCidrs) };
  const pick = (side: 'a' | 'b', g: Gateway): string[] =>
    body.cidrs[side] === undefined ? current[side] : chooseCidrs(side, body.cidrs[side], parseJsonList(g.cidrs), g.name, body.allowOutsideNetworks === true);
  const next = { a: pick('a', link.a), b: pick('b', link.b) };
  assertNoOverlap(next.a, next.b, link.a.name, link.b.name);
  const live = await liveLinksOf(tx, [link.a.id, link.b.id], link.id);
  assertNoRouteClash(live, link.a.id, link.a.name, next.b);
  assertNoRouteClash(live, link.b.id, link.b.name, next.a);
  const from = buildPlan(link);
  const to = buildPlan(link, { cidrs: next });
  if (to.refused) throw conflict(`link ${link.id} has no end to connect to: ${to.refused}`, { link: link.id });
  return { link, from, to, change: diffPlans(from, to) };
}

/** What a change does, per end: the agent's config before and after, routes and rules added and removed. */
function previewChange({ from, to, change }: CheckedChange) {
  const side = (s: 'a' | 'b') => {
    const { version: _before, ...before } = configFor(from, s, 0);
    const { version: _after, ...after } = configFor(to, s, 0);
    return {
      gateway: { id: to[s].gatewayId, name: to[s].gatewayName },
      cidrs: { before: from[s].cidrs, after: to[s].cidrs },
      config: { changed: change[s].config, before, after },
      routes: { add: change[s].routesAdded, remove: change[s].routesRemoved },
      securityGroupRules: { add: change[s].ruleAdded ? [change[s].ruleAdded] : [], remove: change[s].ruleRemoved ? [change[s].ruleRemoved] : [] },
    };
  };
  return {
    changed: !change.none,
    summary: describeChange(from, to, change),
    // The tunnel is re-negotiated with the new selectors; new routes go in before old ones go.
    tunnelRestart: change.a.config || change.b.config,
    a: side('a'),
    b: side('b'),
  };
}

/** IKE needs one end that can take the connection: a proxy site and a NAT that lets nothing in cannot meet. */
function assertOneEndReachable(a: Gateway, b: Gateway): void {
  const choice = chooseInitiator({ name: a.name, provider: a.provider, reach: reachabilityOf(a) }, { name: b.name, provider: b.provider, reach: reachabilityOf(b) });
  if ('refused' in choice) throw conflict(`${a.name} and ${b.name} cannot be linked: ${choice.refused}`, { a: a.id, b: b.id });
}

function assertNoOverlap(aCidrs: string[], bCidrs: string[], aName: string, bName: string): void {
  const clash = firstOverlap(aCidrs, bCidrs);
  if (clash) throw conflict(`the two ends' networks overlap: ${clash[0]} (${aName}) and ${clash[1]} (${bName}); choose other CIDRs for this link`, { a: clash[0], b: clash[1] });
}

/** `asked` is canonical already (cidrList); it must lie inside the gateway's networks unless allowed outside. */
function chooseCidrs(side: 'a' | 'b', asked: string[] | undefined, own: string[], name: string, allowOutside = false): string[] {
  if (!asked) return own;
  const outside = allowOutside ? undefined : asked.find((c) => !own.some((o) => contains(parseCidr(o), parseCidr(c))));
  if (outside) throw conflict(`${outside} is not inside the networks of ${name} (${own.join(', ')})`, { side, cidr: outside });
  return asked;
}

/** A gateway cannot route one remote network through two links (`live`: liveLinksOf, covering the gateway). */
function assertNoRouteClash(live: Link[], gatewayId: string, gatewayName: string, newRemote: string[]): void {
  const others = live.filter((o) => o.aId === gatewayId || o.bId === gatewayId);
  for (const o of others) {
    const remote = parseJsonList(o.aId === gatewayId ? o.bCidrs : o.aCidrs);
    const clash = firstOverlap(newRemote, remote);
    if (clash) throw conflict(`${clash[0]} overlaps ${clash[1]}, which gateway ${gatewayName} already reaches through link ${o.id}`, { link: o.id, cidr: clash[0] });
  }
}
