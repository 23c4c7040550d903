// How stored rows are shown to API clients: parsed JSON, computed presence, never secrets.
import { isFresh, parseJsonList } from '../activities/store-helpers';
import { reachabilityOf } from '../activities/reachability';
import type { Gateway, Link, LinkEvent } from '../generated/prisma/client';

export interface ViewContext {
  now: Date;
  presenceTtlMs: number;
  /** Base URL of the Temporal Web UI, when known. */
  temporalUiUrl?: string;
  temporalNamespace: string;
}

export function gatewayView(g: Gateway, ctx: ViewContext) {
  const reach = reachabilityOf(g);
  return {
    id: g.id,
    name: g.name,
    provider: g.provider,
    /** ready | discovering | failed (cloud gateways are discovered from their public IP). */
    state: g.state,
    stateReason: g.stateReason,
    cidrs: parseJsonList(g.cidrs),
    ...(g.provider !== 'onprem'
      ? {
          cloud: {
            account: g.accountId,
            region: g.region,
            instanceId: g.instanceId,
            privateIp: g.privateIp,
            vpcId: g.vpcId,
            subnetId: g.subnetId,
            routeTableIds: g.routeTableIds ? parseJsonList(g.routeTableIds) : [],
            securityGroupIds: g.securityGroupIds ? parseJsonList(g.securityGroupIds) : [],
            discoveredAt: g.discoveredAt,
          },
        }
      : {}),
    publicIp: g.publicIp,
    /** The address peers dial (reachability.address). */
    endpoint: reach.address,
    /** Where the site can be reached from: address, where it came from, whether peers can connect in. */
    reachability: reach,
    online: g.online && isFresh(g.lastSeenAt, ctx.now, ctx.presenceTtlMs),
    lastSeenAt: g.lastSeenAt,
    observedIp: g.observedIp,
    facts: g.facts ? (JSON.parse(g.facts) as unknown) : null,
    controller: g.online ? g.hubInstance : null,
    createdAt: g.createdAt,
  };
}

export function workflowUrl(workflowId: string, ctx: ViewContext): string | null {
  if (!ctx.temporalUiUrl) return null;
  return `${ctx.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ctx.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function linkView(l: Link & { a: Gateway; b: Gateway; events?: LinkEvent[] }, ctx: ViewContext) {
  return {
    id: l.id,
    state: l.state,
    stateReason: l.stateReason,
    a: { id: l.aId, name: l.a.name, cidrs: parseJsonList(l.aCidrs), tunnelUp: l.aTunnelUp },
    b: { id: l.bId, name: l.b.name, cidrs: parseJsonList(l.bCidrs), tunnelUp: l.bTunnelUp },
    workflowId: l.workflowId,
    workflowUrl: workflowUrl(l.workflowId, ctx),
    /** Which pre-shared key the link uses (counts rotations) and when it was made; the key itself never leaves the database. */
    keyVersion: l.keyVersion,
    keyRotatedAt: l.keyRotatedAt,
    createdAt: l.createdAt,
    updatedAt: l.updatedAt,
    deletedAt: l.deletedAt,
    ...(l.events
      ? { events: l.events.map((e) => ({ at: e.at, type: e.type, message: e.message, data: e.data ? (JSON.parse(e.data) as unknown) : null })) }
      : {}),
  };
}
