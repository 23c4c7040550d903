// Bookkeeping for cloud changes: ownership records of the routes and security-group rules a link
// created, written BEFORE the cloud call, so a crash between call and record can never leak a
// route, and deletion removes exactly what the controller made.
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Db } from '../db';
import type { PeerRule, RouteSpec } from '../cloud/types';
import type { CloudRef } from '../cloud/types';
import { capabilitiesOf } from '../cloud/capabilities';
import { routeOpSignal, routeTableWorkflowId, ruleOpSignal, securityGroupWorkflowId, type RouteOp, type RuleOp } from '../contracts/cloud-objects';
import { allowRequestId, createRequestId } from '../contracts/link-plan';

export interface RouteClaim {
  id: number;
  route: RouteSpec;
  clientToken: string;
  preexisting: boolean;
  /** creating: recorded, the cloud call may not have happened; present: written (or adopted). */
  state: string;
}

/** Deterministic per intent (link, table, CIDR), ≤ 64 ASCII chars as Alibaba's ClientToken requires. */
export function routeClientToken(linkId: string, claimId: number): string {
  return `ipsm-${linkId}-${claimId}`.slice(0, 64);
}

/**
 * A route claim's outcome: written (`preexisting` when the route was there before us) or gone;
 * `instanceId` when the route now points at another instance (re-pointed in place).
 */
export type RouteUpdate = { id: number; state: 'present' | 'deleted'; preexisting?: boolean; instanceId?: string };

/** The writes recording route outcomes, for a transaction. */
export function routeUpdates(db: Db, updates: RouteUpdate[]) {
  return updates.map((u) =>
    db.routeClaim.update({
      where: { id: u.id },
      data: {
        state: u.state,
        ...(u.preexisting !== undefined ? { preexisting: u.preexisting } : {}),
        ...(u.instanceId ? { instanceId: u.instanceId } : {}),
        ...(u.state === 'deleted' ? { activeKey: null } : {}),
      },
    }),
  );
}

/** One write for a link's events, in order (their ids keep it), for a transaction; none for no events. */
export function linkEventWrites(db: Db, linkId: string, events: Array<{ type: string; message: string; data?: Record<string, unknown> }>, at?: Date) {
  if (!events.length) return [];
  return [db.linkEvent.createMany({ data: events.map((e) => ({ linkId, type: e.type, message: e.message, data: e.data ? JSON.stringify(e.data) : null, ...(at ? { at } : {}) })) })];
}

/** Claims of a link's routes on one gateway; `queued` when they were handed to their tables' workflows. */
export type ClaimedRoutes = { claims: RouteClaim[]; queued?: boolean } | { conflict: string };

/** What claimSide did: the routes, and the peer rule when the side has one (queued: with its group's workflow). */
export interface ClaimedSide {
  routes: ClaimedRoutes;
  rule?: { queued: boolean };
}

export function createCloudStoreActivities(deps: { db: Db; temporal?: () => Client }) {
  const { db } = deps;
  const activeKey = (ref: CloudRef, r: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>) => `${ref.provider}|${ref.accountId}|${r.routeTableId}|${r.destinationCidr}`;

  const claim = (p: { linkId: string; gatewayId: string; ref: CloudRef; routes: RouteSpec[] }): Promise<{ claims: RouteClaim[] } | { conflict: string }> =>
    db.$transaction(async (tx) => {
      const claims: RouteClaim[] = [];
      for (const route of p.routes) {
        const key = activeKey(p.ref, route);
        const held = await tx.routeClaim.findUnique({ where: { activeKey: key } });
        if (held && held.linkId !== p.linkId) {
          return { conflict: `route ${route.destinationCidr} in ${route.routeTableId} is already managed for link ${held.linkId}` };
        }
        const row =
          held ??
          (await tx.routeClaim.create({
            data: { linkId: p.linkId, gatewayId: p.gatewayId, provider: p.ref.provider, accountId: p.ref.accountId, region: p.ref.region, routeTableId: route.routeTableId, destinationCidr: route.destinationCidr, instanceId: route.instanceId, state: 'creating', activeKey: key },
          }));
        claims.push({ id: row.id, route: { routeTableId: row.routeTableId, destinationCidr: row.destinationCidr, instanceId: row.instanceId }, clientToken: routeClientToken(p.linkId, row.id), preexisting: row.preexisting, state: row.state });
      }
      return { claims };
    });

  /** Hands an op to the workflow that serialises its cloud object (started if idle). */
  const signalWithStart = async <Op extends { baseQueue: string }>(workflowType: string, workflowId: string, signal: SignalDefinition<[Op]>, op: Op): Promise<void> => {
    if (!deps.temporal) throw ApplicationFailure.nonRetryable('no Temporal client in this worker', 'Misconfigured');
    await deps.temporal().workflow.signalWithStart(workflowType, { workflowId, taskQueue: op.baseQueue, args: [{}], signal, signalArgs: [op] });
  };
  const enqueue = (op: RouteOp): Promise<void> => signalWithStart('routeTableWorkflow', routeTableWorkflowId(op.ref, op.route.routeTableId), routeOpSignal, op);
  const enqueueRule = (op: RuleOp): Promise<void> => signalWithStart('securityGroupWorkflow', securityGroupWorkflowId(op.ref, op.rule.securityGroupId), ruleOpSignal, op);

  /** Claims a link's routes; with `enqueue`, also hands the ones to write to their tables' workflows (Alibaba). */
  const claimAndEnqueue = async (p: { linkId: string; gatewayId: string; ref: CloudRef; routes: RouteSpec[]; enqueue?: { replyTo: string; baseQueue: string } }): Promise<ClaimedRoutes> => {
    const r = await claim(p);
    if ('conflict' in r || !p.enqueue || !capabilitiesOf(p.ref.provider).serialisedRouteWrites) return r;
    // Claims pointing at another instance are replaced by the caller first (one route per destination).
    const wanted = new Set(p.routes.map((x) => x.instanceId));
    if (r.claims.some((c) => c.state === 'present' && !wanted.has(c.route.instanceId))) return r;
    const todo = r.claims.filter((c) => c.state !== 'present');
    // Each op is its own request id: the order in which a table's workflow receives them does not matter.
    const { replyTo, baseQueue } = p.enqueue;
    await Promise.all(todo.map((c) => enqueue({ requestId: createRequestId(p.linkId, c.id), op: 'create', ref: p.ref, route: c.route, clientToken: c.clientToken, replyTo, baseQueue })));
    return { ...r, queued: true };
  };

  /** Records that a link needs a peer rule (rules are shared by links to the same peer); idempotent. */
  const claimRule = async (p: { linkId: string; gatewayId: string } & PeerRule): Promise<void> => {
    const existing = await db.peerRuleClaim.findFirst({ where: { linkId: p.linkId, gatewayId: p.gatewayId, securityGroupId: p.securityGroupId, peerIp: p.peerIp, released: false } });
    if (!existing) await db.peerRuleClaim.create({ data: { linkId: p.linkId, gatewayId: p.gatewayId, securityGroupId: p.securityGroupId, peerIp: p.peerIp, description: p.description } });
  };

  return {
    /**
     * Records the routes a link is about to create. Refuses (without recording anything) when
     * another live link already owns one of them.
     */
    async claimRoutes(p: {
      linkId: string;
      gatewayId: string;
      ref: CloudRef;
      routes: RouteSpec[];
      /**
       * Also hand the routes to write to their tables' workflows (Alibaba), saving the workflow an
       * activity per route; skipped when a claim points at another instance (the caller replaces
       * those first).
       */
      enqueue?: { replyTo: string; baseQueue: string };
    }): Promise<ClaimedRoutes> {
      return claimAndEnqueue(p);
    },

    /**
     * Everything a cloud end of a new link claims, in one step: its routes and the rule for the
     * peer, each handed on Alibaba Cloud to the workflow that serialises its table or group.
     */
    async claimSide(p: {
      linkId: string;
      gatewayId: string;
      ref: CloudRef;
      routes: RouteSpec[];
      rule?: PeerRule;
      enqueue: { replyTo: string; baseQueue: string };
    }): Promise<ClaimedSide> {
      // Routes and rule are independent: claimed and queued side by side.
      const allow = async (rule: PeerRule): Promise<{ queued: boolean }> => {
        await claimRule({ linkId: p.linkId, gatewayId: p.gatewayId, ...rule });
        if (!capabilitiesOf(p.ref.provider).batchedRuleWrites) return { queued: false };
        await enqueueRule({ requestId: allowRequestId(p.linkId, p.gatewayId, rule.peerIp), op: 'allow', ref: p.ref, rule, ...p.enqueue });
        return { queued: true };
      };
      const [routes, rule] = await Promise.all([claimAndEnqueue(p), p.rule ? allow(p.rule) : undefined]);
      return { routes, ...(rule ? { rule } : {}) };
    },

    /** Records route outcomes, and optionally link events (`events` first, then `event`), in one transaction. */
    async markRoutes(p: {
      linkId: string;
      updates: RouteUpdate[];
      events?: Array<{ type: string; message: string; data?: Record<string, unknown> }>;
      event?: { type: string; message: string; data?: Record<string, unknown> };
    }): Promise<void> {
      await db.$transaction([
        ...routeUpdates(db, p.updates),
        ...linkEventWrites(db, p.linkId, [...(p.events ?? []), ...(p.event ? [p.event] : [])]),
      ]);
    },

    /** The link's live route records on one gateway. */
    async routesOf(p: { linkId: string; gatewayId: string }): Promise<RouteClaim[]> {
      const rows = await db.routeClaim.findMany({ where: { linkId: p.linkId, gatewayId: p.gatewayId, NOT: { state: 'deleted' } }, orderBy: { id: 'asc' } });
      return rows.map((r) => ({ id: r.id, route: { routeTableId: r.routeTableId, destinationCidr: r.destinationCidr, instanceId: r.instanceId }, clientToken: routeClientToken(p.linkId, r.id), preexisting: r.preexisting, state: r.state }));
    },

    /** Records that a link needs a peer rule (rules are shared by links to the same peer). */
    async claimPeerRule(p: { linkId: string; gatewayId: string } & PeerRule): Promise<void> {
      await claimRule(p);
    },

    /**
     * Releases a link's rule claims on one gateway (all of them, or all but the rule for the
     * current peer address after the peer moved); returns the rules no other link needs any more.
     */
    async releasePeerRules(p: { linkId: string; gatewayId: string; keepPeerIp?: string }): Promise<{ unneeded: PeerRule[]; kept: number }> {
      return db.$transaction(async (tx) => {
        const mine = await tx.peerRuleClaim.findMany({
          where: { linkId: p.linkId, gatewayId: p.gatewayId, released: false, ...(p.keepPeerIp ? { NOT: { peerIp: p.keepPeerIp } } : {}) },
        });
        await tx.peerRuleClaim.updateMany({ where: { id: { in: mine.map((m) => m.id) } }, data: { released: true } });
        const unneeded: PeerRule[] = [];
        let kept = 0;
        for (const m of mine) {
          const others = await tx.peerRuleClaim.count({ where: { securityGroupId: m.securityGroupId, peerIp: m.peerIp, released: false } });
          if (others === 0) unneeded.push({ securityGroupId: m.securityGroupId, peerIp: m.peerIp, description: m.description });
          else kept++;
        }
        return { unneeded, kept };
      });
    },

    /**
     * The rules no link claims right now. Checked again just before a revoke: a link may have
     * claimed the same peer after another released it and queued the revoke.
     */
    async unclaimedRules(rules: PeerRule[]): Promise<PeerRule[]> {
      const out: PeerRule[] = [];
      for (const r of rules) {
        const held = await db.peerRuleClaim.count({ where: { securityGroupId: r.securityGroupId, peerIp: r.peerIp, released: false } });
        if (held === 0) out.push(r);
      }
      return out;
    },

    /** Hands a rule change to its security group's batching workflow (started if idle). */
    async enqueueRuleOp(op: RuleOp): Promise<void> {
      await enqueueRule(op);
    },

    /** Hands a route write to its table's serialising workflow (started if idle). */
    async enqueueRouteOp(op: RouteOp): Promise<void> {
      await enqueue(op);
    },
  };
}
