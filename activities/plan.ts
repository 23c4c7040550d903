// Builds a link's plan from its stored rows: both ends' endpoints, networks, cloud details and who
// initiates. Shared by the planLink activity and the API's change preview.
import type { Gateway, Link } from '../generated/prisma/client';
import { asGatewayId, asLinkId, connName, ikeIdentity } from '../protocol/ids';
import type { CloudRef } from '../workflows/cloud-calls';
import type { LinkPlan, LinkSide } from '../workflows/link-plan';
import { gatewayEndpoint, parseJsonList } from './store-helpers';

export function buildPlan(
  link: Link & { a: Gateway; b: Gateway },
  o: { queueOf?: (g: Gateway) => string | undefined; cidrs?: { a?: string[]; b?: string[] } } = {},
): LinkPlan {
  const side = (g: Gateway, cidrs: string[]): LinkSide => {
    const queue = o.queueOf?.(g);
    return {
      gatewayId: g.id,
      gatewayName: g.name,
      ...(gatewayEndpoint(g) ? { endpoint: gatewayEndpoint(g) } : {}),
      cidrs,
      identity: ikeIdentity(asGatewayId(g.id)),
      ...(queue ? { queue } : {}),
      ...(g.provider !== 'onprem' && g.accountId && g.region && g.instanceId
        ? {
            cloud: {
              ref: { provider: g.provider as CloudRef['provider'], accountId: g.accountId, region: g.region },
              instanceId: g.instanceId,
              routeTableIds: parseJsonList(g.routeTableIds ?? '[]'),
              securityGroupIds: parseJsonList(g.securityGroupIds ?? '[]'),
            },
          }
        : {}),
    };
  };
  // A data center dials the cloud (it may sit behind NAT and a firewall that only allows
  // outbound); otherwise side a initiates.
  const initiator = link.a.provider !== 'onprem' && link.b.provider === 'onprem' ? 'b' : 'a';
  return {
    linkId: link.id,
    name: connName(asLinkId(link.id)),
    state: link.state,
    a: side(link.a, o.cidrs?.a ?? parseJsonList(link.aCidrs)),
    b: side(link.b, o.cidrs?.b ?? parseJsonList(link.bCidrs)),
    initiator,
    keyVersion: link.keyVersion,
  };
}
