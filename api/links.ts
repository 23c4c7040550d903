// /api/links: connect two gateways, read a link's state and history, change the networks it
// carries (with a dry-run preview), rotate its key, delete it.
import { Router } from 'express';
import { z } from 'zod';
import { conflict, notFound, unavailable } from '../lib/errors';
import { firstOverlap, parseCidr, contains } from '../lib/cidr';
import { encrypt, randomToken } from '../lib/crypto';
import { linkWorkflowId } from '../contracts/link-workflow';
import { DuplicateError, type GatewayRecord, type HeldClaims, type LinkRecord, type LinkWithEnds, type Store } from '../store';
import type { ApiContext } from './context';
import { newLinkId } from './ids';
import { parseBody } from './validate';
import { linkView, linkWithEventsView } from './views';
import { refuseDefaultRoute } from './cidr-fields';
import { ChangeLink, CreateLink, RotateKey, type ChangedLinkView, type ChangePreviewView, type LinkListView, type TeardownView } from './schemas/links';
import { assertChangeable, CIDR_CHANGE } from './link-state';
import { rotateLinkKey } from './link-keys';
import { buildPlan } from '../activities/plan';
import { chooseInitiator, reachabilityOf } from '../activities/reachability';
import { configFor, describeChange, diffPlans, type LinkPlan, type PlanChange } from '../contracts/link-plan';

/** Given CIDRs that are a default route are refused unless the body says allowDefaultRoute (400 before any lookup). */
function checkDefaultRoutes(body: Pick<z.infer<typeof ChangeLink>, 'allowDefaultRoute'> & { cidrs?: { a?: string[]; b?: string[] } }): void {
  refuseDefaultRoute('cidrs.a', body.cidrs?.a, body.allowDefaultRoute);
  refuseDefaultRoute('cidrs.b', body.cidrs?.b, body.allowDefaultRoute);
}

const pairKey = (x: string, y: string): string => (x < y ? `${x}|${y}` : `${y}|${x}`);

/**
 * How long a request waits for the signal that follows a recorded intent before it answers anyway.
 * The intent is in the database already: a signal that is slow or lost (Temporal down, the
 * workflow's worker gone) is delivered by the controller's intent sweep (controller/intent-sweep.ts).
 */
const SIGNAL_WAIT_MS = 25;

export function linkRoutes(ctx: ApiContext): Router {
  const r = Router();
  const now = (): Date => ctx.clock?.() ?? new Date();

  /** Sends the signal of an intent just recorded, waiting for it at most SIGNAL_WAIT_MS; failures are logged, not thrown. */
  const signalIntent = async (linkId: string, intent: 'delete' | 'change', send: () => Promise<void>): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const sent = send().catch((err: unknown) => ctx.log.warn('could not signal link workflow; the intent sweep will', { linkId, intent, err }));
    await Promise.race([sent, new Promise<void>((resolve) => (timer = setTimeout(resolve, SIGNAL_WAIT_MS)))]);
    clearTimeout(timer);
  };

  r.post('/', async (req, res) => {
    const body = parseBody(CreateLink, req.body);
    checkDefaultRoutes(body);
    if (body.a === body.b) throw conflict('a gateway cannot be linked to itself', { gateway: body.a });
    const link = await createLink(ctx, body, now());
    try {
      await ctx.links.start(link.id, link.workflowId);
    } catch (err) {
      // Refused requests store nothing: without a workflow the link would never progress.
      await ctx.store.links.removeUnstarted(link.id);
      ctx.log.error('could not start link workflow', { linkId: link.id, err });
      throw unavailable('the workflow service is unreachable; nothing was created, try again');
    }
    res.status(202).json(linkView(link, ctx.view()));
  });

  r.get('/', async (req, res) => {
    const links = await ctx.store.links.list({ includeDeleted: req.query.includeDeleted === 'true' });
    const health = await ctx.store.health.forLinks(links.filter((link) => link.deletedAt === null).map((link) => link.id));
    const view = ctx.view();
    res.json({ links: links.map((link) => linkView(link, view, health)) } satisfies LinkListView);
  });

  r.get('/:id', async (req, res) => {
    const [link, events, health] = await Promise.all([ctx.store.links.withEnds(req.params.id), ctx.store.links.events(req.params.id), ctx.store.health.forLinks([req.params.id])]);
    if (!link) throw notFound('link', req.params.id);
    res.json(linkWithEventsView(link, ctx.view(), events, health));
  });

  // What a DELETE would remove in the clouds, from the claims the link holds (for its confirmation).
  r.get('/:id/teardown', async (req, res) => {
    const [link, held] = await Promise.all([ctx.store.links.withEnds(req.params.id), ctx.store.claims.heldBy(req.params.id)]);
    if (!link) throw notFound('link', req.params.id);
    res.json(teardownView(link, held));
  });

  // The change a PATCH would make, without making it: configs, routes and rules, before and after.
  r.post('/:id/plan', async (req, res) => {
    const body = parseBody(ChangeLink, req.body);
    checkDefaultRoutes(body);
    const checked = await checkChange(ctx.store, req.params.id, body);
    res.json(previewChange(checked));
  });

  // The change is recorded (state updating, the new CIDRs) before the answer; the workflow is
  // told, and if it cannot be told now the intent sweep tells it later.
  r.patch('/:id', async (req, res) => {
    const body = parseBody(ChangeLink, req.body);
    checkDefaultRoutes(body);
    const at = now();
    // Validated and stored in one transaction: a conflicting change on another link of the same
    // gateway cannot slip in between the checks and the write, and a delete accepted meanwhile wins.
    const checked = await ctx.store.transaction(async (tx) => {
      const change = await checkChange(tx, req.params.id, body);
      if (change.change.none) return change;
      const { link, from, to } = change;
      if (!(await tx.links.requestChange({ linkId: link.id, fromState: link.state, aCidrs: to.a.cidrs, bCidrs: to.b.cidrs }, at))) {
        const current = await tx.links.get(link.id);
        if (current) assertChangeable(current, CIDR_CHANGE);
        throw conflict(`link ${link.id} changed meanwhile; try again once it settled`);
      }
      await tx.links.addEvent(
        link.id,
        {
          type: 'cidr.change_requested',
          message: `CIDR change requested: ${describeChange(from, to, change.change)}`,
          data: { from: { a: from.a.cidrs, b: from.b.cidrs }, to: { a: to.a.cidrs, b: to.b.cidrs } },
        },
        at,
      );
      return change;
    });
    const { link } = checked;
    if (checked.change.none) {
      res.status(200).json({ ...linkView(link, ctx.view()), plan: previewChange(checked) } satisfies ChangedLinkView);
      return;
    }
    await signalIntent(link.id, 'change', () => ctx.links.reconfigure(link.workflowId));
    const after = (await ctx.store.links.withEnds(link.id)) ?? link;
    res.status(202).json({ ...linkView(after, ctx.view()), plan: previewChange(checked) } satisfies ChangedLinkView);
  });

  // A new pre-shared key for both ends, pushed by the link's workflow (see link-keys.ts).
  r.post('/:id/rotate-key', async (req, res) => {
    parseBody(RotateKey, req.body);
    const rotated = await rotateLinkKey({ store: ctx.store, secretKey: ctx.secretKey, links: ctx.links, log: ctx.log, clock: now }, req.params.id, { reason: 'operator' });
    res.status(202).json(linkView(rotated, ctx.view()));
  });

  // The delete is recorded (state deleting) in one conditional write before the answer, whatever
  // the workflow is doing; then the workflow is told. A repeat is accepted again (and tells it
  // again); a link already deleted stays a conflict.
  r.delete('/:id', async (req, res) => {
    const recorded = await ctx.store.links.requestDelete(req.params.id, now());
    if (recorded === 'missing') throw notFound('link', req.params.id);
    if (recorded === 'deleted') throw conflict(`link ${req.params.id} is already deleted`);
    const { link } = recorded;
    await signalIntent(link.id, 'delete', () => ctx.links.requestDelete(link.workflowId));
    res.status(202).json(linkView(link, ctx.view()));
  });

  return r;
}

/** Validates and stores a new link in one transaction; a refusal stores nothing. */
async function createLink(ctx: ApiContext, body: z.infer<typeof CreateLink>, at: Date): Promise<LinkWithEnds> {
  return ctx.store.transaction(async (tx) => {
    const both = await tx.gateways.getMany([body.a, body.b]);
    const a = both.find((gateway) => gateway.id === body.a);
    const b = both.find((gateway) => gateway.id === body.b);
    if (!a) throw notFound('gateway', body.a);
    if (!b) throw notFound('gateway', body.b);
    for (const gateway of [a, b]) {
      if (gateway.state === 'discovering') throw conflict(`gateway ${gateway.name} is still being discovered; try again in a moment`, { gateway: gateway.id });
      if (gateway.state === 'failed') throw conflict(`gateway ${gateway.name} cannot be linked: discovery failed: ${gateway.stateReason ?? 'unknown reason'}`, { gateway: gateway.id });
    }
    const aCidrs = chooseCidrs('a', body.cidrs?.a, a.cidrs, a.name);
    const bCidrs = chooseCidrs('b', body.cidrs?.b, b.cidrs, b.name);
    assertNoOverlap(aCidrs, bCidrs, a.name, b.name);
    assertOneEndReachable(a, b);
    // One read of both gateways' live links serves the pair check and both route checks.
    const live = await tx.links.liveOf([a.id, b.id]);
    const existing = live.find((link) => link.activePairKey === pairKey(a.id, b.id));
    if (existing) throw conflict(`gateways ${a.name} and ${b.name} are already linked by ${existing.id}`, { link: existing.id });
    assertNoRouteClash(live, a.id, a.name, bCidrs);
    assertNoRouteClash(live, b.id, b.name, aCidrs);
    const id = newLinkId();
    try {
      const created = await tx.links.create(
        {
          id,
          aId: a.id,
          bId: b.id,
          activePairKey: pairKey(a.id, b.id),
          aCidrs,
          bCidrs,
          pskCiphertext: encrypt(ctx.secretKey, randomToken(32), { table: 'Link', id }),
          workflowId: linkWorkflowId(id),
        },
        { type: 'link.requested', message: `link requested between ${a.name} and ${b.name}`, data: { aCidrs, bCidrs } },
        at,
      );
      return { ...created, a, b };
    } catch (err) {
      // Two concurrent requests for the same pair: the unique key decides.
      if (err instanceof DuplicateError) throw conflict(`gateways ${a.name} and ${b.name} are already linked`);
      throw err;
    }
  });
}

interface CheckedChange {
  link: LinkWithEnds;
  from: LinkPlan;
  to: LinkPlan;
  change: PlanChange;
}

/** Everything a CIDR change must satisfy before anything is stored (409 names what it clashes with). */
async function checkChange(store: Store, id: string, body: z.infer<typeof ChangeLink>): Promise<CheckedChange> {
  const link = await store.links.withEnds(id);
  if (!link) throw notFound('link', id);
  assertChangeable(link, CIDR_CHANGE);
  const current = { a: link.aCidrs, b: link.bCidrs };
  const pick = (side: 'a' | 'b', gateway: GatewayRecord): string[] =>
    body.cidrs[side] === undefined ? current[side] : chooseCidrs(side, body.cidrs[side], gateway.cidrs, gateway.name, body.allowOutsideNetworks === true);
  const next = { a: pick('a', link.a), b: pick('b', link.b) };
  assertNoOverlap(next.a, next.b, link.a.name, link.b.name);
  const live = await store.links.liveOf([link.a.id, link.b.id], link.id);
  assertNoRouteClash(live, link.a.id, link.a.name, next.b);
  assertNoRouteClash(live, link.b.id, link.b.name, next.a);
  const from = buildPlan(link);
  const to = buildPlan(link, { cidrs: next });
  if (to.refused) throw conflict(`link ${link.id} has no end to connect to: ${to.refused}`, { link: link.id });
  return { link, from, to, change: diffPlans(from, to) };
}

/** What a change does, per end: the agent's config before and after, routes and rules added and removed. */
function previewChange({ from, to, change }: CheckedChange): ChangePreviewView {
  const side = (sideName: 'a' | 'b') => {
    const { version: _before, ...before } = configFor(from, sideName, 0);
    const { version: _after, ...after } = configFor(to, sideName, 0);
    return {
      gateway: { id: to[sideName].gatewayId, name: to[sideName].gatewayName },
      cidrs: { before: from[sideName].cidrs, after: to[sideName].cidrs },
      config: { changed: change[sideName].config, before, after },
      routes: { add: change[sideName].routesAdded, remove: change[sideName].routesRemoved },
      securityGroupRules: { add: change[sideName].ruleAdded ? [change[sideName].ruleAdded] : [], remove: change[sideName].ruleRemoved ? [change[sideName].ruleRemoved] : [] },
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
function assertOneEndReachable(a: GatewayRecord, b: GatewayRecord): void {
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
function assertNoRouteClash(live: LinkRecord[], gatewayId: string, gatewayName: string, newRemote: string[]): void {
  const others = live.filter((other) => other.aId === gatewayId || other.bId === gatewayId);
  for (const other of others) {
    const remote = other.aId === gatewayId ? other.bCidrs : other.aCidrs;
    const clash = firstOverlap(newRemote, remote);
    if (clash) throw conflict(`${clash[0]} overlaps ${clash[1]}, which gateway ${gatewayName} already reaches through link ${other.id}`, { link: other.id, cidr: clash[0] });
  }
}

/** The routes and rules a link holds, and which of them its deletion removes (and why the others stay). */
function teardownView(link: LinkWithEnds, held: HeldClaims): TeardownView {
  const nameOf = (gatewayId: string) => (gatewayId === link.aId ? link.a.name : gatewayId === link.bId ? link.b.name : gatewayId);
  return {
    linkId: link.id,
    routes: held.routes.map(({ gatewayId, route, preexisting }) => ({
      gateway: { id: gatewayId, name: nameOf(gatewayId) },
      ...route,
      removed: !preexisting,
      ...(preexisting ? { keptBecause: 'the same route existed before the link; it stays' } : {}),
    })),
    rules: held.rules.map(({ gatewayId, rule, sharedWith }) => ({
      gateway: { id: gatewayId, name: nameOf(gatewayId) },
      securityGroupId: rule.securityGroupId,
      peerIp: rule.peerIp,
      removed: sharedWith.length === 0,
      ...(sharedWith.length ? { keptBecause: `link${sharedWith.length > 1 ? 's' : ''} ${sharedWith.join(', ')} still need${sharedWith.length > 1 ? '' : 's'} it` } : {}),
    })),
  };
}
