// How stored records are shown to API clients: computed presence and reachability, never secrets.
import { reachabilityOf } from '../activities/reachability';
import { isFresh, type GatewayRecord, type LinkEventRecord, type LinkWithEnds } from '../store';

export interface ViewContext {
  now: Date;
  presenceTtlMs: number;
  /** Base URL of the Temporal Web UI, when known. */
  temporalUiUrl?: string;
  temporalNamespace: string;
}

export function gatewayView(gateway: GatewayRecord, ctx: ViewContext) {
  const reach = reachabilityOf(gateway);
  return {
    id: gateway.id,
    name: gateway.name,
    provider: gateway.provider,
    /** ready | discovering | failed (cloud gateways are discovered from their public IP). */
    state: gateway.state,
    stateReason: gateway.stateReason,
    cidrs: gateway.cidrs,
    ...(gateway.provider !== 'onprem'
      ? {
          cloud: {
            account: gateway.accountId,
            region: gateway.region,
            instanceId: gateway.instanceId,
            privateIp: gateway.privateIp,
            vpcId: gateway.vpcId,
            subnetId: gateway.subnetId,
            routeTableIds: gateway.routeTableIds,
            securityGroupIds: gateway.securityGroupIds,
            discoveredAt: gateway.discoveredAt,
          },
        }
      : {}),
    publicIp: gateway.publicIp,
    /** The address peers dial (reachability.address). */
    endpoint: reach.address,
    /** Where the site can be reached from: address, where it came from, whether peers can connect in. */
    reachability: reach,
    online: gateway.online && isFresh(gateway.lastSeenAt, ctx.now, ctx.presenceTtlMs),
    lastSeenAt: gateway.lastSeenAt,
    observedIp: gateway.observedIp,
    facts: gateway.facts,
    controller: gateway.online ? gateway.hubInstance : null,
    createdAt: gateway.createdAt,
  };
}

export function workflowUrl(workflowId: string, ctx: ViewContext): string | null {
  if (!ctx.temporalUiUrl) return null;
  return `${ctx.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ctx.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function linkView(link: LinkWithEnds, ctx: ViewContext, events?: LinkEventRecord[]) {
  return {
    id: link.id,
    state: link.state,
    stateReason: link.stateReason,
    a: { id: link.aId, name: link.a.name, cidrs: link.aCidrs, tunnelUp: link.aTunnelUp },
    b: { id: link.bId, name: link.b.name, cidrs: link.bCidrs, tunnelUp: link.bTunnelUp },
    workflowId: link.workflowId,
    workflowUrl: workflowUrl(link.workflowId, ctx),
    /** Which pre-shared key the link uses (counts rotations) and when it was made; the key itself never leaves the database. */
    keyVersion: link.keyVersion,
    keyRotatedAt: link.keyRotatedAt,
    createdAt: link.createdAt,
    updatedAt: link.updatedAt,
    deletedAt: link.deletedAt,
    /** When the operator's DELETE was accepted (the workflow tears the link down from then on). */
    deleteRequestedAt: link.deleteRequestedAt,
    ...(events ? { events: events.map((event) => ({ at: event.at, type: event.type, message: event.message, data: event.data })) } : {}),
  };
}
