// What Alibaba Cloud's VPC and ECS APIs do differently, as plain data (no SDK): workflow code reads it
// through ../capabilities.ts. Each value cites the behaviour it stands for.
import type { EndpointService, ProviderCapabilities } from '../types';

export const aliyunCapabilities: ProviderCapabilities = Object.freeze({
  // A table refuses a change while another entry is Pending/Deleting (IncorrectRouteEntryStatus).
  serialisedRouteWrites: true,
  // CreateRouteEntry answers with a Pending entry; DeleteRouteEntry leaves it Deleting for a while.
  asyncRouteEntries: true,
  usableRouteStates: Object.freeze(['Available']),
  // CreateRouteEntries / DeleteRouteEntries: "You can specify up to 50" entries per call.
  routeBatchSize: 50,
  // No call re-points an entry in place.
  replaceRouteInPlace: false,
  // CreateRouteEntry takes a ClientToken: a retry with it answers with the original entry.
  routeIdempotencyToken: true,
  // Permissions.N carries many rules per AuthorizeSecurityGroup / RevokeSecurityGroup call.
  batchedRuleWrites: true,
  // Permissions.N takes up to 100 rules per call; each peer needs two (UDP 500 and 4500).
  peerRulesPerCall: 50,
  // No source/destination check on ECS instances: nothing to prepare.
  prepareInstanceCalls: 0,
});

/** The endpoints an Alibaba Cloud account may override (VPC for routes, ECS for instances and groups). */
export const aliyunEndpointServices: readonly EndpointService[] = Object.freeze(['vpc', 'ecs']);
