// The cloud half of a link: prepare each cloud gateway (source/dest check, security-group rule for
// the peer) and route the remote CIDRs to it in every chosen route table, with ownership records
// so that deletion removes exactly what the controller created.
import { condition, proxyActivities, setHandler, workflowInfo, type SignalDefinition } from '@temporalio/workflow';
import type { Activities, LinkSide } from '../activities';
import type { ClaimedRoutes, ClaimedSide, RouteClaim, RouteUpdate } from '../activities/cloud-store';
import type { PeerRule, RouteSpec } from '../cloud/types';
import { allowRequestId, createRequestId, peerRuleFor, routeKey, routesFor, ruleDescription, type LinkPlan, type SideName } from '../contracts/link-plan';
import { cloudActs, ensureRoute, removeRoute } from './cloud-calls';
import { routeResultSignal } from './route-table';
import { ruleResultSignal } from './security-group';

const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

export class CloudStepFailed extends Error {}

export { ruleDescription };

/**
 * AWS: source/destination check off; both clouds: allow IKE/NAT-T from the peer. `claimed` is
 * what planAndClaim already did for this side.
 */
export async function prepareCloudSide(plan: LinkPlan, s: SideName, w: CloudWriters, claimed?: ClaimedSide): Promise<void> {
  const cloud = plan[s].cloud;
  if (!cloud) return;
  // No await at all on Alibaba Cloud: even an empty one would reorder this activation's commands.
  if (cloud.ref.provider === 'aws') await prepareInstance(plan, s);
  await allowPeer(plan, s, w, claimed?.rule);
}

/** Readies the side's instance to forward the link's traffic: only EC2 has a source/destination check to turn off. */
export async function prepareInstance(plan: LinkPlan, s: SideName): Promise<void> {
  const cloud = plan[s].cloud;
  if (cloud?.ref.provider === 'aws') await cloudActs(cloud.ref, 'instance').cloudPrepareInstance({ ...cloud.ref, instanceId: cloud.instanceId });
}

/**
 * Claims and adds the security-group rule for the peer's current address (idempotent).
 * `claimed`: the claim is recorded already (and, when queued, the rule is with its group's workflow).
 */
export async function allowPeer(plan: LinkPlan, s: SideName, w: CloudWriters, claimed?: { queued: boolean }): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  const rule = peerRuleFor(plan, s);
  if (!cloud || !rule) return;
  if (!claimed) await store.claimPeerRule({ linkId: plan.linkId, gatewayId: side.gatewayId, ...rule });
  await w.rule(cloud.ref, 'allow', rule, allowRequestId(plan.linkId, side.gatewayId, rule.peerIp), claimed?.queued);
  await w.record({ event: { type: 'cloud.rule_added', message: `allowed IKE/NAT-T from ${rule.peerIp} in ${rule.securityGroupId} (${side.gatewayName})`, data: { gatewayId: side.gatewayId, ...rule } } });
}

/**
 * Routes every remote CIDR to this side's instance in each chosen route table. Routes the link
 * already wrote are left alone, so this also adds just the new routes after a change. `claimed`:
 * what planAndClaim already claimed (and queued) for this side.
 */
export async function applyRoutes(plan: LinkPlan, s: SideName, w: CloudWriters, claimed?: ClaimedRoutes): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  if (!cloud) return;
  const routes = routesFor(plan, s);
  // Claims are read below: what this link recorded but has not written yet goes first.
  const flushing = claimed ? undefined : w.flush();
  if (flushing) await flushing;
  // One activity claims the routes and hands them to their tables' workflows.
  const enqueue = w.claimEnqueues ? { enqueue: { replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue } } : {};
  let claims: ClaimedRoutes = claimed ?? (await store.claimRoutes({ linkId: plan.linkId, gatewayId: side.gatewayId, ref: cloud.ref, routes, ...enqueue }));
  if ('conflict' in claims) throw new CloudStepFailed(claims.conflict);
  // Routes of ours that point at an instance the gateway no longer runs on. EC2 re-points the ones
  // we created in place (ReplaceRoute: no gap); otherwise (Alibaba, a route that predates us, one
  // gone meanwhile) a route table holds one route per destination, so the old one goes first (the
  // old next hop carries nothing anyway).
  let stale = claims.claims.filter((c) => c.state === 'present' && c.route.instanceId !== cloud.instanceId);
  if (stale.length && w.replaceOwned && cloud.ref.provider === 'aws') stale = await repoint(plan, s, stale);
  if (stale.length) {
    await removeOwned(plan, s, stale, w, { releaseRules: false });
    claims = await store.claimRoutes({ linkId: plan.linkId, gatewayId: side.gatewayId, ref: cloud.ref, routes });
    if ('conflict' in claims) throw new CloudStepFailed(claims.conflict);
  }
  // A present claim was written by an earlier run of this link: writing it again would make the
  // cloud answer "exists" and the route would look pre-existing (and be kept on delete).
  const todo = claims.claims.filter((c) => c.state !== 'present');
  if (todo.length === 0) return;
  const queued = 'queued' in claims && claims.queued === true;
  const settled = await Promise.allSettled(todo.map((c) => w.route(cloud.ref, 'create', c.route, c.clientToken, createRequestId(plan.linkId, c.id), queued)));
  const refused = todo.filter((_, i) => settled[i]!.status === 'rejected');
  if (refused.length) {
    // Writes are retried until they succeed or the cloud refuses for good (a conflicting route,
    // a quota, an invalid CIDR): a refused route was never written, and its claim must not make
    // a later delete remove what is somebody else's route for the same destination.
    await store.markRoutes({ linkId: plan.linkId, updates: refused.map((c) => ({ id: c.id, state: 'deleted' })) });
    const ok = todo.filter((_, i) => settled[i]!.status === 'fulfilled');
    if (ok.length) await store.markRoutes({ linkId: plan.linkId, updates: ok.map((c) => ({ id: c.id, state: 'present', preexisting: (settled[todo.indexOf(c)] as PromiseFulfilledResult<string>).value === 'exists' })) });
    throw (settled.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const outcomes = settled.map((r) => (r as PromiseFulfilledResult<string>).value);
  const cidrs = [...new Set(todo.map((c) => c.route.destinationCidr))];
  await w.record({
    routes: todo.map((c, i) => ({ id: c.id, state: 'present', preexisting: outcomes[i] === 'exists' })),
    event: {
      type: 'cloud.routes_added',
      message: `${todo.length} route(s) to ${cidrs.join(', ')} via ${cloud.instanceId} in ${cloud.routeTableIds.join(', ')} (${side.gatewayName})`,
      data: { gatewayId: side.gatewayId, routes: todo.map((c) => c.route), preexisting: outcomes.filter((o) => o === 'exists').length },
    },
  });
}

/** EC2: re-points the link's own stale routes at the side's instance; returns those it could not. */
async function repoint(plan: LinkPlan, s: SideName, stale: RouteClaim[]): Promise<RouteClaim[]> {
  const cloud = plan[s].cloud!;
  const ours = stale.filter((c) => !c.preexisting);
  const outcomes = await Promise.all(ours.map((c) => cloudActs(cloud.ref, 'routeWrite').cloudReplaceRoute({ ...cloud.ref, route: { ...c.route, instanceId: cloud.instanceId } })));
  const moved = ours.filter((_, i) => outcomes[i] === 'replaced');
  if (moved.length) {
    await store.markRoutes({
      linkId: plan.linkId,
      updates: moved.map((c) => ({ id: c.id, state: 'present', instanceId: cloud.instanceId })),
      event: { type: 'cloud.routes_moved', message: `${moved.length} route(s) re-pointed at ${cloud.instanceId} (${plan[s].gatewayName})`, data: { gatewayId: plan[s].gatewayId, routes: moved.map((c) => c.route) } },
    });
  }
  return stale.filter((c) => !moved.includes(c));
}

/**
 * After a change: removes the routes this link created that the plan no longer wants, and the
 * security-group rules for peer addresses the link no longer uses.
 */
export async function pruneCloudSide(plan: LinkPlan, s: SideName, w: CloudWriters): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  if (!cloud) return;
  const wanted = new Set(routesFor(plan, s).map(routeKey));
  const flushing = w.flush();
  if (flushing) await flushing;
  const owned = (await store.routesOf({ linkId: plan.linkId, gatewayId: side.gatewayId })).filter((c) => !wanted.has(routeKey(c.route)));
  const rule = peerRuleFor(plan, s);
  const removed = await removeOwned(plan, s, owned, w, { releaseRules: true, ...(rule ? { keepPeerIp: rule.peerIp } : {}) });
  if (owned.length || removed.rules) {
    await store.recordEvent({
      linkId: plan.linkId,
      type: 'cloud.pruned',
      message: `removed ${removed.routes} route(s) and ${removed.rules} security-group rule(s) the link no longer needs on ${side.gatewayName}`,
      data: { gatewayId: side.gatewayId, routes: owned.map((c) => c.route) },
    });
  }
}

/** Removes the routes this link created (never pre-existing ones) and its security-group rules. */
export async function removeCloudSide(plan: LinkPlan, s: SideName, w: CloudWriters): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  if (!cloud) return;
  const flushing = w.flush();
  if (flushing) await flushing;
  const owned = await store.routesOf({ linkId: plan.linkId, gatewayId: side.gatewayId });
  const removed = await removeOwned(plan, s, owned, w);
  await store.recordEvent({
    linkId: plan.linkId,
    type: 'cloud.removed',
    message: `removed ${removed.routes} route(s) and ${removed.rules} security-group rule(s) on ${side.gatewayName}`,
    data: { gatewayId: side.gatewayId, keptPreexisting: owned.filter((c) => c.preexisting).length, rulesStillUsed: removed.rulesStillUsed },
  });
}

/** Deletes owned routes (pre-existing ones stay) and, unless told not to, releases the link's rules except keepPeerIp's. */
async function removeOwned(
  plan: LinkPlan,
  s: SideName,
  owned: RouteClaim[],
  w: CloudWriters,
  o: { releaseRules: boolean; keepPeerIp?: string } = { releaseRules: true },
): Promise<{ routes: number; rules: number; rulesStillUsed: number }> {
  const side = plan[s];
  const cloud = side.cloud!;
  await Promise.all(owned.map((c) => (c.preexisting ? Promise.resolve('absent' as const) : w.route(cloud.ref, 'delete', c.route, c.clientToken, `${plan.linkId}:${c.id}:delete`))));
  if (owned.length) await store.markRoutes({ linkId: plan.linkId, updates: owned.map((c) => ({ id: c.id, state: 'deleted' })) });
  const routes = owned.filter((c) => !c.preexisting).length;
  if (!o.releaseRules) return { routes, rules: 0, rulesStillUsed: 0 };
  const rules = await store.releasePeerRules({ linkId: plan.linkId, gatewayId: side.gatewayId, ...(o.keepPeerIp ? { keepPeerIp: o.keepPeerIp } : {}) });
  await Promise.all(rules.unneeded.map((r) => w.rule(cloud.ref, 'revoke', r, `${plan.linkId}:${side.gatewayId}:revoke:${r.peerIp}`)));
  return { routes, rules: rules.unneeded.length, rulesStillUsed: rules.kept };
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
  /** claimRoutes may enqueue Alibaba route writes itself (histories from before did it apart). */
  claimEnqueues: boolean;
  /** EC2 routes of ours re-point in place when the gateway moved (histories from before deleted and re-created them). */
  replaceOwned: boolean;
  /**
   * Records route outcomes and an event: with the link's next store write (its state, usually),
   * or at once (histories from before). Nothing reads them before that write: flush() comes first.
   */
  record: (r: { routes?: RouteUpdate[]; event: LinkNote }) => Promise<void>;
  /** Takes what is recorded and not yet written, for the store write that carries it. */
  pending: () => Pending;
  /**
   * Writes what is pending now: before claims are read, and before the run ends. Undefined when
   * nothing is pending or being written: the caller goes on without awaiting (an await would
   * reorder the commands of histories from before, which never wait here).
   */
  flush: () => Promise<void> | undefined;
}

/**
 * Alibaba route tables take one change at a time: the op goes through the table's workflow and
 * the result comes back as a signal. Alibaba security-group rules go through the group's
 * workflow, which batches them. EC2 takes concurrent writes: call directly. Call once per
 * workflow run (it registers the result signals' handlers).
 */
export function cloudWriters(o: { linkId: string; batchRules: boolean; claimEnqueues: boolean; defer: boolean; replaceOwned: boolean }): CloudWriters {
  const routeResult = replies(routeResultSignal);
  const ruleResult = replies(ruleResultSignal);
  const here = () => ({ replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue });
  const routes: RouteUpdate[] = [];
  const events: LinkNote[] = [];
  let writing: Promise<void> = Promise.resolve();
  let unfinished = 0;
  const pending = (): Pending => ({ ...(routes.length ? { routes: routes.splice(0) } : {}), ...(events.length ? { events: events.splice(0) } : {}) });
  return {
    claimEnqueues: o.claimEnqueues,
    replaceOwned: o.replaceOwned,
    record: async (r) => {
      if (o.defer) {
        routes.push(...(r.routes ?? []));
        events.push(r.event);
      } else if (r.routes) await store.markRoutes({ linkId: o.linkId, updates: r.routes, event: r.event });
      else await store.recordEvent({ linkId: o.linkId, ...r.event });
    },
    pending,
    // One write at a time, and every caller waits for the writes before it: both sides of a link
    // flush before reading their claims, and the second must not read before the first's write.
    flush: () => {
      const p = pending();
      if (p.routes || p.events) {
        unfinished++;
        writing = writing
          .then(() => store.markRoutes({ linkId: o.linkId, updates: p.routes ?? [], ...(p.events ? { events: p.events } : {}) }))
          .finally(() => unfinished--);
      }
      return unfinished ? writing : undefined;
    },
    route: async (ref, op, route, clientToken, requestId, queued) => {
      if (ref.provider !== 'aliyun') return op === 'create' ? ensureRoute(ref, route, clientToken) : removeRoute(ref, route);
      if (!queued) await store.enqueueRouteOp({ requestId, op, ref, route, clientToken, ...here() });
      const r = await routeResult(requestId);
      if (!r.ok) throw new CloudStepFailed(r.message);
      return r.outcome;
    },
    rule: async (ref, op, rule, requestId, queued) => {
      if (ref.provider !== 'aliyun' || !o.batchRules) {
        const acts = cloudActs(ref, 'securityGroup');
        if (op === 'allow') await acts.cloudAllowPeer({ ...ref, rule });
        else await acts.cloudRevokePeer({ ...ref, rule });
        return;
      }
      if (!queued) await store.enqueueRuleOp({ requestId, op, ref, rule, ...here() });
      const r = await ruleResult(requestId);
      if (!r.ok) throw new CloudStepFailed(r.message);
    },
  };
}

/** Collects the replies of a serialising workflow by request id; the returned function waits for one. */
function replies<R extends { requestId: string }>(signal: SignalDefinition<[R]>): (requestId: string) => Promise<R> {
  const got = new Map<string, R>();
  setHandler(signal, (r) => {
    got.set(r.requestId, r);
  });
  return async (requestId) => {
    await condition(() => got.has(requestId));
    const r = got.get(requestId)!;
    got.delete(requestId);
    return r;
  };
}
