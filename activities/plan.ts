// Builds a link's plan from its stored rows: both ends' endpoints, networks, cloud details and who
// initiates (from where each end can be reached, reachability.ts). Shared by the planLink activity
// and the API's change preview.
import type { Gateway, Link } from '../generated/prisma/client';
import { asGatewayId, asLinkId, connName, ikeIdentity } from '../protocol/ids';
import type { CloudRef } from '../cloud/types';
import type { LinkPlan, LinkSide } from '../contracts/link-plan';
import { parseJsonList } from './store-helpers';
import { cannotRespond, chooseInitiator, pinnableAddress, reachabilityOf, type Reachability } from './reachability';

export function buildPlan(
  link: Link & { a: Gateway; b: Gateway },
  o: { queueOf?: (g: Gateway) => string | undefined; cidrs?: { a?: string[]; b?: string[] } } = {},
): LinkPlan {
  const reachA = reachabilityOf(link.a);
  const reachB = reachabilityOf(link.b);
  const choice = chooseInitiator({ name: link.a.name, provider: link.a.provider, reach: reachA }, { name: link.b.name, provider: link.b.provider, reach: reachB });
  const side = (g: Gateway, reach: Reachability, cidrs: string[]): LinkSide => {
    const queue = o.queueOf?.(g);
    const unreachable = cannotRespond({ name: g.name, provider: g.provider, reach });
    return {
      gatewayId: g.id,
      gatewayName: g.name,
      ...(reach.address ? { endpoint: reach.address } : {}),
      pinEndpoint: pinnableAddress(reach) !== undefined,
      ...(unreachable ? { unreachable } : {}),
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
  // Who can take the incoming connection decides who dials (reachability.ts); when no end can,
  // the plan says so and keeps the old choice, so the API refuses and the workflow waits.
  const initiator = 'initiator' in choice ? choice.initiator : link.a.provider !== 'onprem' && link.b.provider === 'onprem' ? 'b' : 'a';
  return {
    linkId: link.id,
    name: connName(asLinkId(link.id)),
    state: link.state,
    a: side(link.a, reachA, o.cidrs?.a ?? parseJsonList(link.aCidrs)),
    b: side(link.b, reachB, o.cidrs?.b ?? parseJsonList(link.bCidrs)),
    initiator,
    keyVersion: link.keyVersion,
    ...('initiator' in choice ? { initiatorWhy: choice.why } : { refused: choice.refused }),
  };
}
