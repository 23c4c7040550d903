// Builds a link's plan from its stored rows: both ends' endpoints, networks, cloud details and who
// initiates (from where each end can be reached, reachability.ts). Shared by the planLink activity
// and the API's change preview.
import { asGatewayId, asLinkId, connName, ikeIdentity } from '../protocol/ids';
import type { CloudRef } from '../cloud/types';
import type { LinkPlan, LinkSide } from '../contracts/link-plan';
import type { GatewayRecord, LinkWithEnds } from '../store';
import { cannotRespond, chooseInitiator, pinnableAddress, reachabilityOf, type Reachability } from './reachability';

export function buildPlan(
  link: LinkWithEnds,
  options: { queueOf?: (gateway: GatewayRecord) => string | undefined; cidrs?: { a?: string[]; b?: string[] } } = {},
): LinkPlan {
  const reachA = reachabilityOf(link.a);
  const reachB = reachabilityOf(link.b);
  const choice = chooseInitiator({ name: link.a.name, provider: link.a.provider, reach: reachA }, { name: link.b.name, provider: link.b.provider, reach: reachB });
  const side = (gateway: GatewayRecord, reach: Reachability, cidrs: string[]): LinkSide => {
    const queue = options.queueOf?.(gateway);
    const unreachable = cannotRespond({ name: gateway.name, provider: gateway.provider, reach });
    return {
      gatewayId: gateway.id,
      gatewayName: gateway.name,
      ...(reach.address ? { endpoint: reach.address } : {}),
      pinEndpoint: pinnableAddress(reach) !== undefined,
      ...(unreachable ? { unreachable } : {}),
      cidrs,
      identity: ikeIdentity(asGatewayId(gateway.id)),
      ...(queue ? { queue } : {}),
      ...(gateway.provider !== 'onprem' && gateway.accountId && gateway.region && gateway.instanceId
        ? {
            cloud: {
              ref: { provider: gateway.provider as CloudRef['provider'], accountId: gateway.accountId, region: gateway.region },
              instanceId: gateway.instanceId,
              routeTableIds: gateway.routeTableIds,
              securityGroupIds: gateway.securityGroupIds,
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
    a: side(link.a, reachA, options.cidrs?.a ?? link.aCidrs),
    b: side(link.b, reachB, options.cidrs?.b ?? link.bCidrs),
    initiator,
    keyVersion: link.keyVersion,
    ...('initiator' in choice ? { initiatorWhy: choice.why } : { refused: choice.refused }),
  };
}
