// Bookkeeping for cloud changes: ownership records of the routes and security-group rules a link
// created, written BEFORE the cloud call, so a crash between call and record can never leak a
// route, and deletion removes exactly what the controller made.
import { ApplicationFailure } from '@temporalio/common';
import { tagCloudEvents } from './request-tags';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { RouteOutcome, Store, StoredRouteClaim } from '../store';
import type { PeerRule, RouteSpec } from '../cloud/types';
import type { CloudRef } from '../cloud/types';
import { capabilitiesOf } from '../cloud/capabilities';
import { RESULT_SIGNALS, routeOpSignal, routeTableWorkflowId, ruleOpSignal, securityGroupWorkflowId, type Reply, type ResultSignalName, type RouteOp, type RuleOp } from '../contracts/cloud-objects';
import { allowRequestId, createRequestId } from '../contracts/link-plan';

export interface RouteClaim extends StoredRouteClaim {
  clientToken: string;
}

/** Deterministic per intent (link, table, CIDR), ≤ 64 ASCII chars as Alibaba's ClientToken requires. */
export function routeClientToken(linkId: string, claimId: number): string {
  return `ipsm-${linkId}-${claimId}`.slice(0, 64);
}

/**
 * A route claim's outcome: written (`preexisting` when the route was there before us) or gone;
 * `instanceId` when the route now points at another instance (re-pointed in place).
 */
export type RouteUpdate = RouteOutcome;

/** Claims of a link's routes on one gateway; `queued` when they were handed to their tables' workflows. */
export type ClaimedRoutes = { claims: RouteClaim[]; queued?: boolean } | { conflict: string };

/** What claimSide did: the routes, and the peer rule when the side has one (queued: with its group's workflow). */
export interface ClaimedSide {
  routes: ClaimedRoutes;
  rule?: { queued: boolean };
}

/**
 * Answers the requesters of a serialising workflow (route table, security group), one signal each,
 * side by side. The workflow calls it as a local activity once per batch: the answers cost one
 * marker in its history, where a signal sent by the workflow itself costs two events (initiated,
 * then signalled) and wakes it once more for the second. A requester gone meanwhile (its link
 * deleted) counts as answered. Returns the positions of the replies not delivered (Temporal did
 * not take the signal): the workflow tries those again, and nobody gets an answer twice unless a
 * worker dies while this runs.
 */
export function resultDelivery(temporal: (() => Client) | undefined) {
  return {
    async deliverResults(input: { signal: ResultSignalName; replies: Reply[] }): Promise<number[]> {
      if (!temporal) throw ApplicationFailure.nonRetryable('no Temporal client in this worker', 'Misconfigured');
      if (!RESULT_SIGNALS.includes(input.signal)) throw ApplicationFailure.nonRetryable(`not a result signal: ${String(input.signal)}`, 'BadRequest');
      const client = temporal();
      const sent = await Promise.allSettled(input.replies.map((reply) => client.workflow.getHandle(reply.replyTo).signal(input.signal, reply.result)));
      return sent.flatMap((outcome, i) => (outcome.status === 'rejected' && !(outcome.reason instanceof WorkflowNotFoundError) ? [i] : []));
    },
  };
}

export function createCloudStoreActivities(deps: { store: Store; clock: () => Date; temporal?: () => Client }) {
  const { claims: records } = deps.store;
  const withToken = (linkId: string, claim: StoredRouteClaim): RouteClaim => ({ ...claim, clientToken: routeClientToken(linkId, claim.id) });

  const claim = async (request: { linkId: string; gatewayId: string; ref: CloudRef; routes: RouteSpec[] }): Promise<{ claims: RouteClaim[] } | { conflict: string }> => {
    const claimed = await records.claimRoutes(request, deps.clock());
    return 'conflict' in claimed ? claimed : { claims: claimed.claims.map((stored) => withToken(request.linkId, stored)) };
  };

  /** Hands an op to the workflow that serialises its cloud object (started if idle). */
  const signalWithStart = async <Op extends { baseQueue: string }>(workflowType: string, workflowId: string, signal: SignalDefinition<[Op]>, op: Op): Promise<void> => {
    if (!deps.temporal) throw ApplicationFailure.nonRetryable('no Temporal client in this worker', 'Misconfigured');
    await deps.temporal().workflow.signalWithStart(workflowType, { workflowId, taskQueue: op.baseQueue, args: [{}], signal, signalArgs: [op] });
  };
  const enqueue = (op: RouteOp): Promise<void> => signalWithStart('routeTableWorkflow', routeTableWorkflowId(op.ref, op.route.routeTableId), routeOpSignal, op);
  const enqueueRule = (op: RuleOp): Promise<void> => signalWithStart('securityGroupWorkflow', securityGroupWorkflowId(op.ref, op.rule.securityGroupId), ruleOpSignal, op);

  /** Claims a link's routes; with `enqueue`, also hands the ones to write to their tables' workflows (Alibaba). */
  const claimAndEnqueue = async (input: { linkId: string; gatewayId: string; ref: CloudRef; routes: RouteSpec[]; enqueue?: { replyTo: string; baseQueue: string } }): Promise<ClaimedRoutes> => {
    const claimed = await claim(input);
    if ('conflict' in claimed || !input.enqueue || !capabilitiesOf(input.ref.provider).serialisedRouteWrites) return claimed;
    // Claims pointing at another instance are replaced by the caller first (one route per destination).
    const wanted = new Set(input.routes.map((route) => route.instanceId));
    if (claimed.claims.some((held) => held.state === 'present' && !wanted.has(held.route.instanceId))) return claimed;
    const todo = claimed.claims.filter((held) => held.state !== 'present');
    // Each op is its own request id: the order in which a table's workflow receives them does not matter.
    const { replyTo, baseQueue } = input.enqueue;
    await Promise.all(todo.map((held) => enqueue({ requestId: createRequestId(input.linkId, held.id), op: 'create', ref: input.ref, route: held.route, clientToken: held.clientToken, replyTo, baseQueue })));
    return { ...claimed, queued: true };
  };

  /** Records that a link needs a peer rule (rules are shared by links to the same peer); idempotent. */
  const claimRule = (request: { linkId: string; gatewayId: string } & PeerRule): Promise<void> => records.claimRule(request, deps.clock());

  return {
    ...resultDelivery(deps.temporal),

    /**
     * Records the routes a link is about to create. Refuses (without recording anything) when
     * another live link already owns one of them.
     */
    async claimRoutes(input: {
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
      return claimAndEnqueue(input);
    },

    /**
     * Everything a cloud end of a new link claims, in one step: its routes and the rule for the
     * peer, each handed on Alibaba Cloud to the workflow that serialises its table or group.
     */
    async claimSide(input: {
      linkId: string;
      gatewayId: string;
      ref: CloudRef;
      routes: RouteSpec[];
      rule?: PeerRule;
      enqueue: { replyTo: string; baseQueue: string };
    }): Promise<ClaimedSide> {
      // Routes and rule are independent: claimed and queued side by side.
      const allow = async (rule: PeerRule): Promise<{ queued: boolean }> => {
        await claimRule({ linkId: input.linkId, gatewayId: input.gatewayId, ...rule });
        if (!capabilitiesOf(input.ref.provider).batchedRuleWrites) return { queued: false };
        await enqueueRule({ requestId: allowRequestId(input.linkId, input.gatewayId, rule.peerIp), op: 'allow', ref: input.ref, rule, ...input.enqueue });
        return { queued: true };
      };
      const [routes, rule] = await Promise.all([claimAndEnqueue(input), input.rule ? allow(input.rule) : undefined]);
      return { routes, ...(rule ? { rule } : {}) };
    },

    /** Records route outcomes, and optionally link events (`events` first, then `event`), in one transaction. */
    async markRoutes(input: {
      linkId: string;
      updates: RouteUpdate[];
      events?: Array<{ type: string; message: string; data?: Record<string, unknown> }>;
      event?: { type: string; message: string; data?: Record<string, unknown> };
    }): Promise<void> {
      await records.markRoutes(input.linkId, input.updates, tagCloudEvents([...(input.events ?? []), ...(input.event ? [input.event] : [])]), deps.clock());
    },

    /** The link's live route records on one gateway. */
    async routesOf(input: { linkId: string; gatewayId: string }): Promise<RouteClaim[]> {
      return (await records.routesOf(input.linkId, input.gatewayId)).map((stored) => withToken(input.linkId, stored));
    },

    /** Records that a link needs a peer rule (rules are shared by links to the same peer). */
    async claimPeerRule(input: { linkId: string; gatewayId: string } & PeerRule): Promise<void> {
      await claimRule(input);
    },

    /**
     * Releases a link's rule claims on one gateway (all of them, or all but the rule for the
     * current peer address after the peer moved); returns the rules no other link needs any more.
     */
    async releasePeerRules(input: { linkId: string; gatewayId: string; keepPeerIp?: string }): Promise<{ unneeded: PeerRule[]; kept: number }> {
      return records.releaseRules(input.linkId, input.gatewayId, input.keepPeerIp);
    },

    /**
     * The rules no link claims right now. Checked again just before a revoke: a link may have
     * claimed the same peer after another released it and queued the revoke.
     */
    async unclaimedRules(rules: PeerRule[]): Promise<PeerRule[]> {
      return records.unclaimedRules(rules);
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
