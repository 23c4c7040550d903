// The cloud half of a link: prepare each cloud gateway (source/dest check, security-group rule for
// the peer) and route the remote CIDRs to it in every chosen route table, with ownership records
// so that deletion removes exactly what the controller created.
import { condition, setHandler, workflowInfo, type SignalDefinition } from '@temporalio/workflow';
import type { LinkSide } from '../activities';
import type { ClaimedRoutes, ClaimedSide, RouteClaim, RouteUpdate } from '../activities/cloud-store';
import { capabilitiesOf } from '../cloud/capabilities';
import type { PeerRule, RouteSpec } from '../cloud/types';
import { allowRequestId, createRequestId, peerRuleFor, routeKey, routesFor, ruleDescription, type LinkPlan, type SideName } from '../contracts/link-plan';
import { store } from './bookkeeping';
import { cloudActs, ensureRoute, removeRoute } from './cloud-calls';
import { routeResultSignal } from './route-table';
import { ruleResultSignal } from './security-group';

export class CloudStepFailed extends Error {}

export { ruleDescription };

/**
 * Readies the instance where the provider needs it (EC2: source/destination check off) and allows
 * IKE/NAT-T from the peer. `claimed` is what planAndClaim already did for this side.
 */
export async function prepareCloudSide(plan: LinkPlan, sideName: SideName, writers: CloudWriters, claimed?: ClaimedSide): Promise<void> {
  const cloud = plan[sideName].cloud;
  if (!cloud) return;
  // No await at all where nothing is prepared: even an empty one would reorder this activation's commands.
  if (needsPreparation(cloud.ref)) await prepareInstance(plan, sideName);
  await allowPeer(plan, sideName, writers, claimed?.rule);
}

/** Readies the side's instance to forward the link's traffic, where the provider needs it (EC2's source/destination check). */
export async function prepareInstance(plan: LinkPlan, sideName: SideName): Promise<void> {
  const cloud = plan[sideName].cloud;
  if (cloud && needsPreparation(cloud.ref)) await cloudActs(cloud.ref, 'instance').cloudPrepareInstance({ ...cloud.ref, instanceId: cloud.instanceId });
}

const needsPreparation = (ref: Ref): boolean => capabilitiesOf(ref.provider).prepareInstanceCalls > 0;

/**
 * Claims and adds the security-group rule for the peer's current address (idempotent).
 * `claimed`: the claim is recorded already (and, when queued, the rule is with its group's workflow).
 */
export async function allowPeer(plan: LinkPlan, sideName: SideName, writers: CloudWriters, claimed?: { queued: boolean }): Promise<void> {
  const side = plan[sideName];
  const cloud = side.cloud;
  const rule = peerRuleFor(plan, sideName);
  if (!cloud || !rule) return;
  if (!claimed) await store.claimPeerRule({ linkId: plan.linkId, gatewayId: side.gatewayId, ...rule });
  await writers.rule(cloud.ref, 'allow', rule, allowRequestId(plan.linkId, side.gatewayId, rule.peerIp), claimed?.queued);
  await writers.record({ event: { type: 'cloud.rule_added', message: `allowed IKE/NAT-T from ${rule.peerIp} in ${rule.securityGroupId} (${side.gatewayName})`, data: { gatewayId: side.gatewayId, ...rule } } });
}

/**
 * Routes every remote CIDR to this side's instance in each chosen route table. Routes the link
 * already wrote are left alone, so this also adds just the new routes after a change. `claimed`:
 * what planAndClaim already claimed (and queued) for this side.
 */
export async function applyRoutes(plan: LinkPlan, sideName: SideName, writers: CloudWriters, claimed?: ClaimedRoutes): Promise<void> {
  const side = plan[sideName];
  const cloud = side.cloud;
  if (!cloud) return;
  const routes = routesFor(plan, sideName);
  // Claims are read below: what this link recorded but has not written yet goes first.
  const flushing = claimed ? undefined : writers.flush();
  if (flushing) await flushing;
  // One activity claims the routes and, where writes are serialised, hands them to their tables' workflows.
  const enqueue = { replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue };
  let claims: ClaimedRoutes = claimed ?? (await store.claimRoutes({ linkId: plan.linkId, gatewayId: side.gatewayId, ref: cloud.ref, routes, enqueue }));
  if ('conflict' in claims) throw new CloudStepFailed(claims.conflict);
  // Routes of ours that point at an instance the gateway no longer runs on. Where the provider can
  // (EC2 ReplaceRoute: no gap) the ones we created are re-pointed in place; otherwise (Alibaba, a
  // route that predates us, one gone meanwhile) a route table holds one route per destination, so
  // the old one goes first (the old next hop carries nothing anyway).
  let stale = claims.claims.filter((claim) => claim.state === 'present' && claim.route.instanceId !== cloud.instanceId);
  if (stale.length && capabilitiesOf(cloud.ref.provider).replaceRouteInPlace) stale = await repoint(plan, sideName, stale);
  if (stale.length) {
    await removeOwned(plan, sideName, stale, writers, { releaseRules: false });
    claims = await store.claimRoutes({ linkId: plan.linkId, gatewayId: side.gatewayId, ref: cloud.ref, routes });
    if ('conflict' in claims) throw new CloudStepFailed(claims.conflict);
  }
  // A present claim was written by an earlier run of this link: writing it again would make the
  // cloud answer "exists" and the route would look pre-existing (and be kept on delete).
  const todo = claims.claims.filter((claim) => claim.state !== 'present');
  if (todo.length === 0) return;
  const queued = 'queued' in claims && claims.queued === true;
  const settled = await Promise.allSettled(todo.map((claim) => writers.route(cloud.ref, 'create', claim.route, claim.clientToken, createRequestId(plan.linkId, claim.id), queued)));
  if (settled.some((result) => result.status === 'rejected')) return markRefused(plan, todo, settled);
  const outcomes = settled.map((result) => (result as PromiseFulfilledResult<string>).value);
  const cidrs = [...new Set(todo.map((claim) => claim.route.destinationCidr))];
  await writers.record({
    routes: todo.map((claim, i) => ({ id: claim.id, state: 'present', preexisting: outcomes[i] === 'exists' })),
    event: {
      type: 'cloud.routes_added',
      message: `${todo.length} route(s) to ${cidrs.join(', ')} via ${cloud.instanceId} in ${cloud.routeTableIds.join(', ')} (${side.gatewayName})`,
      data: { gatewayId: side.gatewayId, routes: todo.map((claim) => claim.route), preexisting: outcomes.filter((outcome) => outcome === 'exists').length },
    },
  });
}

/**
 * Writes are retried until they succeed or the cloud refuses for good (a conflicting route, a
 * quota, an invalid CIDR): a refused route was never written, and its claim must not make a later
 * delete remove what is somebody else's route for the same destination. Records both kinds, then
 * throws the first refusal.
 */
async function markRefused(plan: LinkPlan, todo: RouteClaim[], settled: PromiseSettledResult<string>[]): Promise<never> {
  const refused = todo.filter((_, i) => settled[i]!.status === 'rejected');
  await store.markRoutes({ linkId: plan.linkId, updates: refused.map((claim) => ({ id: claim.id, state: 'deleted' })) });
  const written = todo.filter((_, i) => settled[i]!.status === 'fulfilled');
  if (written.length) {
    const updates = written.map((claim) => ({ id: claim.id, state: 'present' as const, preexisting: (settled[todo.indexOf(claim)] as PromiseFulfilledResult<string>).value === 'exists' }));
    await store.markRoutes({ linkId: plan.linkId, updates });
  }
  throw (settled.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason;
}

/** Re-points the link's own stale routes at the side's instance in place (replaceRouteInPlace); returns those it could not. */
async function repoint(plan: LinkPlan, sideName: SideName, stale: RouteClaim[]): Promise<RouteClaim[]> {
  const side = plan[sideName];
  const cloud = side.cloud!;
  const ours = stale.filter((claim) => !claim.preexisting);
  const outcomes = await Promise.all(ours.map((claim) => cloudActs(cloud.ref, 'routeWrite').cloudReplaceRoute({ ...cloud.ref, route: { ...claim.route, instanceId: cloud.instanceId } })));
  const moved = ours.filter((_, i) => outcomes[i] === 'replaced');
  if (moved.length) {
    await store.markRoutes({
      linkId: plan.linkId,
      updates: moved.map((claim) => ({ id: claim.id, state: 'present', instanceId: cloud.instanceId })),
      event: { type: 'cloud.routes_moved', message: `${moved.length} route(s) re-pointed at ${cloud.instanceId} (${side.gatewayName})`, data: { gatewayId: side.gatewayId, routes: moved.map((claim) => claim.route) } },
    });
  }
  return stale.filter((claim) => !moved.includes(claim));
}

/**
 * After a change: removes the routes this link created that the plan no longer wants, and the
 * security-group rules for peer addresses the link no longer uses.
 */
export async function pruneCloudSide(plan: LinkPlan, sideName: SideName, writers: CloudWriters): Promise<void> {
  const side = plan[sideName];
  const cloud = side.cloud;
  if (!cloud) return;
  const wanted = new Set(routesFor(plan, sideName).map(routeKey));
  const flushing = writers.flush();
  if (flushing) await flushing;
  const owned = (await store.routesOf({ linkId: plan.linkId, gatewayId: side.gatewayId })).filter((claim) => !wanted.has(routeKey(claim.route)));
  const rule = peerRuleFor(plan, sideName);
  const removed = await removeOwned(plan, sideName, owned, writers, { releaseRules: true, ...(rule ? { keepPeerIp: rule.peerIp } : {}) });
  if (owned.length || removed.rules) {
    await store.recordEvent({
      linkId: plan.linkId,
      type: 'cloud.pruned',
      message: `removed ${removed.routes} route(s) and ${removed.rules} security-group rule(s) the link no longer needs on ${side.gatewayName}`,
      data: { gatewayId: side.gatewayId, routes: owned.map((claim) => claim.route), revokedRules: removed.revoked },
    });
  }
}

/** Removes the routes this link created (never pre-existing ones) and its security-group rules. */
export async function removeCloudSide(plan: LinkPlan, sideName: SideName, writers: CloudWriters): Promise<void> {
  const side = plan[sideName];
  const cloud = side.cloud;
  if (!cloud) return;
  const flushing = writers.flush();
  if (flushing) await flushing;
  const owned = await store.routesOf({ linkId: plan.linkId, gatewayId: side.gatewayId });
  const removed = await removeOwned(plan, sideName, owned, writers);
  await store.recordEvent({
    linkId: plan.linkId,
    type: 'cloud.removed',
    message: `removed ${removed.routes} route(s) and ${removed.rules} security-group rule(s) on ${side.gatewayName}`,
    data: {
      gatewayId: side.gatewayId,
      routes: owned.filter((claim) => !claim.preexisting).map((claim) => claim.route),
      revokedRules: removed.revoked,
      keptPreexisting: owned.filter((claim) => claim.preexisting).length,
      rulesStillUsed: removed.rulesStillUsed,
    },
  });
}

/** Deletes owned routes (pre-existing ones stay) and, unless told not to, releases the link's rules except keepPeerIp's. */
async function removeOwned(
  plan: LinkPlan,
  sideName: SideName,
  owned: RouteClaim[],
  writers: CloudWriters,
  options: { releaseRules: boolean; keepPeerIp?: string } = { releaseRules: true },
): Promise<{ routes: number; rules: number; rulesStillUsed: number; revoked: PeerRule[] }> {
  const side = plan[sideName];
  const cloud = side.cloud!;
  await Promise.all(
    owned.map((claim) => (claim.preexisting ? Promise.resolve('absent' as const) : writers.route(cloud.ref, 'delete', claim.route, claim.clientToken, `${plan.linkId}:${claim.id}:delete`))),
  );
  if (owned.length) await store.markRoutes({ linkId: plan.linkId, updates: owned.map((claim) => ({ id: claim.id, state: 'deleted' })) });
  const routes = owned.filter((claim) => !claim.preexisting).length;
  if (!options.releaseRules) return { routes, rules: 0, rulesStillUsed: 0, revoked: [] };
  const rules = await store.releasePeerRules({ linkId: plan.linkId, gatewayId: side.gatewayId, ...(options.keepPeerIp ? { keepPeerIp: options.keepPeerIp } : {}) });
  await Promise.all(rules.unneeded.map((rule) => writers.rule(cloud.ref, 'revoke', rule, `${plan.linkId}:${side.gatewayId}:revoke:${rule.peerIp}`)));
  return { routes, rules: rules.unneeded.length, rulesStillUsed: rules.kept, revoked: rules.unneeded };
}

type Ref = NonNullable<LinkSide['cloud']>['ref'];
/** queued: the op is already with the table's workflow (claimRoutes enqueued it); only wait. */
type WriteRoute = (ref: Ref, op: 'create' | 'delete', route: RouteSpec, clientToken: string, requestId: string, queued?: boolean) => Promise<string>;
type WriteRule = (ref: Ref, op: 'allow' | 'revoke', rule: PeerRule, requestId: string, queued?: boolean) => Promise<void>;
export type LinkNote = { type: string; message: string; data?: Record<string, unknown> };
/** What the link's next store write takes along: route outcomes, then events, in order. */
export type Pending = { routes?: RouteUpdate[]; events?: LinkNote[] };

/**
 * How a link's cloud writes reach the cloud (direct, or through a table's / group's workflow),
 * and how their events reach the link's record.
 */
export interface CloudWriters {
  route: WriteRoute;
  rule: WriteRule;
  /**
   * Records route outcomes and an event with the link's next store write (its state, usually).
   * Nothing reads them before that write: flush() comes first.
   */
  record: (note: { routes?: RouteUpdate[]; event: LinkNote }) => Promise<void>;
  /** Takes what is recorded and not yet written, for the store write that carries it. */
  pending: () => Pending;
  /**
   * Writes what is pending now: before claims are read, and before the run ends. Undefined when
   * nothing is pending or being written: the caller goes on without awaiting, so that with nothing
   * to write the commands of a link's two sides keep their order (an await, even of nothing, lets
   * the other side run first).
   */
  flush: () => Promise<void> | undefined;
}

/**
 * Where a provider serialises route writes per table (Alibaba), the op goes through the table's
 * workflow and the result comes back as a signal; where it batches security-group rules, they go
 * through the group's workflow. Otherwise (EC2) the link's workflow calls directly. Call once per
 * workflow run (it registers the result signals' handlers).
 */
export function cloudWriters({ linkId }: { linkId: string }): CloudWriters {
  const routeResult = replies(routeResultSignal);
  const ruleResult = replies(ruleResultSignal);
  const here = () => ({ replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue });
  const routes: RouteUpdate[] = [];
  const events: LinkNote[] = [];
  let writing: Promise<void> = Promise.resolve();
  let unfinished = 0;
  const pending = (): Pending => ({ ...(routes.length ? { routes: routes.splice(0) } : {}), ...(events.length ? { events: events.splice(0) } : {}) });
  return {
    record: async (note) => {
      routes.push(...(note.routes ?? []));
      events.push(note.event);
    },
    pending,
    // One write at a time, and every caller waits for the writes before it: both sides of a link
    // flush before reading their claims, and the second must not read before the first's write.
    flush: () => {
      const taken = pending();
      if (taken.routes || taken.events) {
        unfinished++;
        writing = writing
          .then(() => store.markRoutes({ linkId, updates: taken.routes ?? [], ...(taken.events ? { events: taken.events } : {}) }))
          .finally(() => unfinished--);
      }
      return unfinished ? writing : undefined;
    },
    route: async (ref, op, route, clientToken, requestId, queued) => {
      if (!capabilitiesOf(ref.provider).serialisedRouteWrites) return op === 'create' ? ensureRoute(ref, route, clientToken) : removeRoute(ref, route);
      if (!queued) await store.enqueueRouteOp({ requestId, op, ref, route, clientToken, ...here() });
      const result = await routeResult(requestId);
      if (!result.ok) throw new CloudStepFailed(result.message);
      return result.outcome;
    },
    rule: async (ref, op, rule, requestId, queued) => {
      if (!capabilitiesOf(ref.provider).batchedRuleWrites) {
        const acts = cloudActs(ref, 'securityGroup');
        if (op === 'allow') await acts.cloudAllowPeer({ ...ref, rule });
        else await acts.cloudRevokePeer({ ...ref, rule });
        return;
      }
      if (!queued) await store.enqueueRuleOp({ requestId, op, ref, rule, ...here() });
      const result = await ruleResult(requestId);
      if (!result.ok) throw new CloudStepFailed(result.message);
    },
  };
}

/** Collects the replies of a serialising workflow by request id; the returned function waits for one. */
function replies<Reply extends { requestId: string }>(signal: SignalDefinition<[Reply]>): (requestId: string) => Promise<Reply> {
  const got = new Map<string, Reply>();
  setHandler(signal, (reply) => {
    got.set(reply.requestId, reply);
  });
  return async (requestId) => {
    await condition(() => got.has(requestId));
    const reply = got.get(requestId)!;
    got.delete(requestId);
    return reply;
  };
}
