// How stored records are shown to API clients: computed presence and reachability, never secrets.
// Each view returns its wire form (times as ISO text), typed by the response schema the OpenAPI
// document is generated from (api/schemas/), so the two cannot drift apart.
import { reachabilityOf } from '../activities/reachability';
import { isFresh, type GatewayRecord, type LinkEventRecord, type LinkWithEnds } from '../store';
import { iso, isoOrNull } from './schemas/common';
import type { GatewayView, GatewayProvider, GatewayState } from './schemas/gateways';
import type { LinkState, LinkView, LinkWithEventsView } from './schemas/links';
import type { z } from 'zod';

export interface ViewContext {
  now: Date;
  presenceTtlMs: number;
  /** Base URL of the Temporal Web UI, when known. */
  temporalUiUrl?: string;
  temporalNamespace: string;
}

export function gatewayView(gateway: GatewayRecord, ctx: ViewContext): GatewayView {
  const reach = reachabilityOf(gateway);
  return {
    id: gateway.id,
    name: gateway.name,
    // The store writes only these values (the contract checker verifies every answer in tests).
    provider: gateway.provider as z.infer<typeof GatewayProvider>,
    /** ready | discovering | failed (cloud gateways are discovered from their public IP). */
    state: gateway.state as z.infer<typeof GatewayState>,
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
            discoveredAt: isoOrNull(gateway.discoveredAt),
          },
        }
      : {}),
    publicIp: gateway.publicIp,
    /** The address peers dial (reachability.address). */
    endpoint: reach.address,
    /** Where the site can be reached from: address, where it came from, whether peers can connect in. */
    reachability: reach,
    online: gateway.online && isFresh(gateway.lastSeenAt, ctx.now, ctx.presenceTtlMs),
    lastSeenAt: isoOrNull(gateway.lastSeenAt),
    observedIp: gateway.observedIp,
    facts: gateway.facts,
    controller: gateway.online ? gateway.hubInstance : null,
    createdAt: iso(gateway.createdAt),
  };
}

export function workflowUrl(workflowId: string, ctx: ViewContext): string | null {
  if (!ctx.temporalUiUrl) return null;
  return `${ctx.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ctx.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function linkView(link: LinkWithEnds, ctx: ViewContext): LinkView {
  return {
    id: link.id,
    state: link.state as z.infer<typeof LinkState>,
    stateReason: link.stateReason,
    a: { id: link.aId, name: link.a.name, cidrs: link.aCidrs, tunnelUp: link.aTunnelUp },
    b: { id: link.bId, name: link.b.name, cidrs: link.bCidrs, tunnelUp: link.bTunnelUp },
    workflowId: link.workflowId,
    workflowUrl: workflowUrl(link.workflowId, ctx),
    /** Which pre-shared key the link uses (counts rotations) and when it was made; the key itself never leaves the database. */
    keyVersion: link.keyVersion,
    keyRotatedAt: iso(link.keyRotatedAt),
    createdAt: iso(link.createdAt),
    updatedAt: iso(link.updatedAt),
    deletedAt: isoOrNull(link.deletedAt),
    /** When the operator's DELETE was accepted (the workflow tears the link down from then on). */
    deleteRequestedAt: isoOrNull(link.deleteRequestedAt),
  };
}

/** A link with its history, oldest event first (GET /api/links/:id). */
export function linkWithEventsView(link: LinkWithEnds, ctx: ViewContext, events: LinkEventRecord[]): LinkWithEventsView {
  return { ...linkView(link, ctx), events: events.map((event) => ({ at: iso(event.at), type: event.type, message: event.message, data: event.data })) };
}
