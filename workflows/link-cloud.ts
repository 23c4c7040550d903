// The cloud half of a link: prepare each cloud gateway (source/dest check, security-group rule for
// the peer) and route the remote CIDRs to it in every chosen route table, with ownership records
// so that deletion removes exactly what the controller created.
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities, LinkPlan, LinkSide } from '../activities';
import type { RouteSpec } from '../cloud/types';
import { cloudActs, ensureRoute, removeRoute } from './cloud-calls';
import { routeResultSignal, type RouteOpResult } from './route-table';

const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

export class CloudStepFailed extends Error {}

const peerOf = (plan: LinkPlan, s: 'a' | 'b'): LinkSide => plan[s === 'a' ? 'b' : 'a'];

/** Security-group rule description: marks the rule as ours. */
export const ruleDescription = (peerIp: string): string => `ipsec-mesh peer ${peerIp}`;

/** AWS: source/destination check off; both clouds: allow IKE/NAT-T from the peer. */
export async function prepareCloudSide(plan: LinkPlan, s: 'a' | 'b'): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  const peerIp = peerOf(plan, s).endpoint;
  if (!cloud) return;
  // Only EC2 has a source/destination check to turn off; Alibaba Cloud needs no call.
  if (cloud.ref.provider === 'aws') await cloudActs(cloud.ref, 'instance').cloudPrepareInstance({ ...cloud.ref, instanceId: cloud.instanceId });
  if (!peerIp || cloud.securityGroupIds.length === 0) return;
  const rule = { securityGroupId: cloud.securityGroupIds[0]!, peerIp, description: ruleDescription(peerIp) };
  await store.claimPeerRule({ linkId: plan.linkId, gatewayId: side.gatewayId, ...rule });
  await cloudActs(cloud.ref, 'securityGroup').cloudAllowPeer({ ...cloud.ref, rule });
  await store.recordEvent({ linkId: plan.linkId, type: 'cloud.rule_added', message: `allowed IKE/NAT-T from ${peerIp} in ${rule.securityGroupId} (${side.gatewayName})`, data: { gatewayId: side.gatewayId, ...rule } });
}

/** Routes every remote CIDR to this side's instance in each chosen route table. */
export async function applyRoutes(plan: LinkPlan, s: 'a' | 'b', writeRoute: WriteRoute): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  if (!cloud) return;
  const routes: RouteSpec[] = cloud.routeTableIds.flatMap((routeTableId) =>
    peerOf(plan, s).cidrs.map((destinationCidr) => ({ routeTableId, destinationCidr, instanceId: cloud.instanceId })),
  );
  const claims = await store.claimRoutes({ linkId: plan.linkId, gatewayId: side.gatewayId, ref: cloud.ref, routes });
  if ('conflict' in claims) throw new CloudStepFailed(claims.conflict);
  const outcomes = await Promise.all(claims.claims.map((c) => writeRoute(cloud.ref, 'create', c.route, c.clientToken, `${plan.linkId}:${c.id}:create`)));
  await store.markRoutes({
    linkId: plan.linkId,
    updates: claims.claims.map((c, i) => ({ id: c.id, state: 'present', preexisting: outcomes[i] === 'exists' })),
    event: {
      type: 'cloud.routes_added',
      message: `${routes.length} route(s) to ${peerOf(plan, s).cidrs.join(', ')} via ${cloud.instanceId} in ${cloud.routeTableIds.join(', ')} (${side.gatewayName})`,
      data: { gatewayId: side.gatewayId, routes, preexisting: outcomes.filter((o) => o === 'exists').length },
    },
  });
}

/** Removes the routes this link created (never pre-existing ones) and its security-group rules. */
export async function removeCloudSide(plan: LinkPlan, s: 'a' | 'b', writeRoute: WriteRoute): Promise<void> {
  const side = plan[s];
  const cloud = side.cloud;
  if (!cloud) return;
  const owned = await store.routesOf({ linkId: plan.linkId, gatewayId: side.gatewayId });
  await Promise.all(owned.map((c) => (c.preexisting ? Promise.resolve('absent' as const) : writeRoute(cloud.ref, 'delete', c.route, c.clientToken, `${plan.linkId}:${c.id}:delete`))));
  await store.markRoutes({ linkId: plan.linkId, updates: owned.map((c) => ({ id: c.id, state: 'deleted' })) });
  const rules = await store.releasePeerRules({ linkId: plan.linkId, gatewayId: side.gatewayId });
  for (const r of rules.unneeded) {
    await cloudActs(cloud.ref, 'securityGroup').cloudRevokePeer({ ...cloud.ref, rule: r });
  }
  await store.recordEvent({
    linkId: plan.linkId,
    type: 'cloud.removed',
    message: `removed ${owned.filter((c) => !c.preexisting).length} route(s) and ${rules.unneeded.length} security-group rule(s) on ${side.gatewayName}`,
    data: { gatewayId: side.gatewayId, keptPreexisting: owned.filter((c) => c.preexisting).length, rulesStillUsed: rules.kept },
  });
}

type WriteRoute = (ref: NonNullable<LinkSide['cloud']>['ref'], op: 'create' | 'delete', route: RouteSpec, clientToken: string, requestId: string) => Promise<string>;

/**
 * Alibaba route tables take one change at a time: the op goes through the table's workflow and
 * the result comes back as a signal. EC2 takes concurrent writes: call directly. Call once per
 * workflow run (it registers the result signal's handler).
 */
export function routeWriter(): WriteRoute {
  const routeResults = new Map<string, RouteOpResult>();
  setHandler(routeResultSignal, (r) => {
    routeResults.set(r.requestId, r);
  });
  return (ref, op, route, clientToken, requestId) => writeRoute(routeResults, ref, op, route, clientToken, requestId);
}

async function writeRoute(routeResults: Map<string, RouteOpResult>, ref: NonNullable<LinkSide['cloud']>['ref'], op: 'create' | 'delete', route: RouteSpec, clientToken: string, requestId: string): Promise<string> {
  if (ref.provider !== 'aliyun') return op === 'create' ? ensureRoute(ref, route, clientToken) : removeRoute(ref, route);
  await store.enqueueRouteOp({ requestId, op, ref, route, clientToken, replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue });
  await condition(() => routeResults.has(requestId));
  const r = routeResults.get(requestId)!;
  routeResults.delete(requestId);
  if (!r.ok) throw new CloudStepFailed(r.message);
  return r.outcome;
}
