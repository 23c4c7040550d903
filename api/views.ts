// How stored records are shown to API clients: computed presence and reachability, never secrets.
// Each view returns its wire form (times as ISO text), typed by the response schema the OpenAPI
// document is generated from (api/schemas/), so the two cannot drift apart.
import { reachabilityOf } from '../activities/reachability';
import { isFresh, type GatewayRecord, type LinkEventRecord, type LinkHealthRecord, type LinkWithEnds } from '../store';
import { iso, isoOrNull } from './schemas/common';
import type { GatewayView, GatewayProvider, GatewayState } from './schemas/gateways';
import type { EndDataPlaneView, LinkState, LinkView, LinkWithEventsView } from './schemas/links';
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

/** One end's latest data-plane figures as the API shows them. */
export function dataPlaneView(h: LinkHealthRecord): EndDataPlaneView {
  const lastTraffic = [h.lastInAt, h.lastOutAt].filter((d): d is Date => d !== null).sort((x, y) => y.getTime() - x.getTime())[0] ?? null;
  return {
    measuredAt: iso(h.measuredAt),
    installed: h.installed,
    bytesIn: h.bytesIn,
    bytesOut: h.bytesOut,
    packetsIn: h.packetsIn,
    packetsOut: h.packetsOut,
    lastInAt: isoOrNull(h.lastInAt),
    lastOutAt: isoOrNull(h.lastOutAt),
    lastTrafficAt: isoOrNull(lastTraffic),
    rttP50Ms: h.rttP50Ms,
    establishedAt: isoOrNull(h.establishedAt),
    rekeyAt: isoOrNull(h.rekeyAt),
    probes: h.probeFailStreak === null ? null : { sent: h.probesSent, answered: h.probesAnswered, failStreak: h.probeFailStreak },
  };
}

/**
 * A link as the API shows it. With `health` (the link's LinkHealth rows), each end carries its
 * data-plane figures (null before its first report); without, the ends have none (change feed).
 */
export function linkView(link: LinkWithEnds, ctx: ViewContext, health?: readonly LinkHealthRecord[]): LinkView {
  const plane = (gatewayId: string) => {
    if (!health) return {};
    const row = health.find((h) => h.linkId === link.id && h.gatewayId === gatewayId);
    return { dataPlane: row ? dataPlaneView(row) : null };
  };
  return {
    id: link.id,
    state: link.state as z.infer<typeof LinkState>,
    stateReason: link.stateReason,
    a: { id: link.aId, name: link.a.name, cidrs: link.aCidrs, tunnelUp: link.aTunnelUp, ...plane(link.aId) },
    b: { id: link.bId, name: link.b.name, cidrs: link.bCidrs, tunnelUp: link.bTunnelUp, ...plane(link.bId) },
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
export function linkWithEventsView(link: LinkWithEnds, ctx: ViewContext, events: LinkEventRecord[], health?: readonly LinkHealthRecord[]): LinkWithEventsView {
  return { ...linkView(link, ctx, health), events: events.map((event) => ({ at: iso(event.at), type: event.type, message: event.message, data: event.data })) };
}
