// What deleting a link removes at its cloud ends: the routes to each remote network in every
// route table the gateway uses, and the security-group rule letting the peer in (the same
// derivation as contracts/link-plan.ts routesFor/peerRuleFor, from what the API shows).
import type { Gateway, Link, PeerRule, RouteSpec } from '../api/types';

export interface Removals {
  routes: (RouteSpec & { gateway: string })[];
  rules: (PeerRule & { gateway: string })[];
}

export function removalsOf(link: Link, gateways: ReadonlyMap<string, Gateway>): Removals {
  const out: Removals = { routes: [], rules: [] };
  for (const [self, peer] of [
    [link.a, link.b],
    [link.b, link.a],
  ] as const) {
    const g = gateways.get(self.id);
    const cloud = g?.cloud;
    if (!g || !cloud?.instanceId) continue;
    for (const routeTableId of cloud.routeTableIds) for (const destinationCidr of peer.cidrs) out.routes.push({ gateway: g.name, routeTableId, destinationCidr, instanceId: cloud.instanceId });
    const peerIp = gateways.get(peer.id)?.endpoint;
    const sg = cloud.securityGroupIds[0];
    if (sg && peerIp) out.rules.push({ gateway: g.name, securityGroupId: sg, peerIp, description: `ipsec-mesh peer ${peerIp}` });
  }
  return out;
}
