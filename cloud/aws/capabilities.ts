// What EC2 does differently, as plain data (no SDK): workflow code reads it through
// ../capabilities.ts. Each value cites the behaviour it stands for.
import type { EndpointService, ProviderCapabilities } from '../types';

export const awsCapabilities: ProviderCapabilities = Object.freeze({
  // EC2 takes concurrent route writes to one table.
  serialisedRouteWrites: false,
  // CreateRoute / DeleteRoute are done when they answer.
  asyncRouteEntries: false,
  // A blackhole route (its instance stopped) still "exists": it is ours, it just carries nothing now.
  usableRouteStates: Object.freeze(['active', 'blackhole']),
  // No batch route API.
  routeBatchSize: 0,
  // ReplaceRoute re-points a route in place.
  replaceRouteInPlace: true,
  // CreateRoute takes no ClientToken.
  routeIdempotencyToken: false,
  // One AuthorizeSecurityGroupIngress per peer (its three permissions), written from the link's workflow.
  batchedRuleWrites: false,
  peerRulesPerCall: 1,
  // ModifyInstanceAttribute turns the source/destination check off, once per instance.
  prepareInstanceCalls: 1,
});

/** The endpoint an AWS account may override. */
export const awsEndpointServices: readonly EndpointService[] = Object.freeze(['ec2']);
