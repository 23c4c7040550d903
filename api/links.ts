// /api/links: connect two gateways, read a link's state and history, delete it.
import { Router } from 'express';
import { z } from 'zod';
import { AppError, conflict, notFound, unavailable, invalid } from '../lib/errors';
import { firstOverlap, normaliseCidrList, parseCidr, contains, CidrError } from '../lib/cidr';
import { encrypt, randomToken } from '../lib/crypto';
import { parseJsonList } from '../activities/store-helpers';
import { linkWorkflowId } from '../workflows/definitions';
import type { Db } from '../db';
import type { ApiContext } from './context';
import { isUniqueViolation } from './db-errors';
import { newLinkId } from './ids';
import { parseBody } from './validate';
import { linkView } from './views';

const CreateLink = z.object({
  a: z.string().min(1, { error: 'expected a gateway id' }),
  b: z.string().min(1, { error: 'expected a gateway id' }),
  /** Networks the link carries at each end; defaults to each gateway's networks. */
  cidrs: z.object({ a: z.array(z.string()).min(1).optional(), b: z.array(z.string()).min(1).optional() }).strict().optional(),
}).strict();

const pairKey = (x: string, y: string): string => (x < y ? `${x}|${y}` : `${y}|${x}`);
const ACTIVE = { deletedAt: null } as const;

export function linkRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const body = parseBody(CreateLink, req.body);
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
    }
    res.status(202).json(linkView({ ...l, state: 'deleting' }, ctx.view()));
  });

  return r;
}

/** Validates and stores a new link in one transaction; a refusal stores nothing. */
async function createLink(ctx: ApiContext, body: z.infer<typeof CreateLink>) {
  return ctx.db.$transaction(async (tx) => {
    const [a, b] = await Promise.all([tx.gateway.findUnique({ where: { id: body.a } }), tx.gateway.findUnique({ where: { id: body.b } })]);
    if (!a) throw notFound('gateway', body.a);
    if (!b) throw notFound('gateway', body.b);
    for (const g of [a, b]) {
      if (g.state === 'discovering') throw conflict(`gateway ${g.name} is still being discovered; try again in a moment`, { gateway: g.id });
      if (g.state === 'failed') throw conflict(`gateway ${g.name} cannot be linked: discovery failed: ${g.stateReason ?? 'unknown reason'}`, { gateway: g.id });
    }
    const aCidrs = chooseCidrs('a', body.cidrs?.a, parseJsonList(a.cidrs), a.name);
    const bCidrs = chooseCidrs('b', body.cidrs?.b, parseJsonList(b.cidrs), b.name);
    const clash = firstOverlap(aCidrs, bCidrs);
    if (clash) throw conflict(`the two ends' networks overlap: ${clash[0]} (${a.name}) and ${clash[1]} (${b.name}); choose other CIDRs for this link`, { a: clash[0], b: clash[1] });
    const existing = await tx.link.findFirst({ where: { activePairKey: pairKey(a.id, b.id) } });
    if (existing) throw conflict(`gateways ${a.name} and ${b.name} are already linked by ${existing.id}`, { link: existing.id });
    await assertNoRouteClash(tx, a.id, a.name, bCidrs);
    await assertNoRouteClash(tx, b.id, b.name, aCidrs);
    const id = newLinkId();
    try {
      return await tx.link.create({
        data: {
          id,
          aId: a.id,
          bId: b.id,
          activePairKey: pairKey(a.id, b.id),
          state: 'provisioning',
          aCidrs: JSON.stringify(aCidrs),
          bCidrs: JSON.stringify(bCidrs),
          pskCiphertext: encrypt(ctx.secretKey, randomToken(32)),
          workflowId: linkWorkflowId(id),
          events: { create: { type: 'link.requested', message: `link requested between ${a.name} and ${b.name}`, data: JSON.stringify({ aCidrs, bCidrs }) } },
        },
        include: { a: true, b: true },
      });
    } catch (err) {
      // Two concurrent requests for the same pair: the unique key decides.
      if (isUniqueViolation(err)) throw conflict(`gateways ${a.name} and ${b.name} are already linked`);
      throw err;
    }
  });
}

function chooseCidrs(side: 'a' | 'b', asked: string[] | undefined, own: string[], name: string): string[] {
  if (!asked) return own;
  let list: string[];
  try {
    list = normaliseCidrList(asked);
  } catch (err) {
    if (err instanceof CidrError) throw invalid(`invalid request: cidrs.${side}: ${err.message}`, { fields: [{ field: `cidrs.${side}`, message: err.message }] });
    throw err;
  }
  const outside = list.find((c) => !own.some((o) => contains(parseCidr(o), parseCidr(c))));
  if (outside) throw conflict(`${outside} is not inside the networks of ${name} (${own.join(', ')})`, { side, cidr: outside });
  return list;
}

/** A gateway cannot route one remote network through two links. */
async function assertNoRouteClash(tx: Pick<Db, 'link'>, gatewayId: string, gatewayName: string, newRemote: string[]): Promise<void> {
  const others = await tx.link.findMany({ where: { ...ACTIVE, OR: [{ aId: gatewayId }, { bId: gatewayId }] } });
  for (const o of others) {
    const remote = parseJsonList(o.aId === gatewayId ? o.bCidrs : o.aCidrs);
    const clash = firstOverlap(newRemote, remote);
    if (clash) throw conflict(`${clash[0]} overlaps ${clash[1]}, which gateway ${gatewayName} already reaches through link ${o.id}`, { link: o.id, cidr: clash[0] });
  }
}
