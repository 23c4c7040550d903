// The AWS CloudProvider: EC2 for discovery, VPC routes and security groups. Every mutating method is
// exactly one EC2 call (the SDK does not retry), so one rate-limited activity spends one API unit.
import { ModifyInstanceAttributeCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { CloudProvider, CloudTarget, PeerRule, RouteSpec } from '../types';
import { createEc2Client, type Ec2ClientOptions } from './client';
import { discoverGateway } from './discover';
import { ec2Call } from './errors';
import { createRoute, deleteRoute, getRoute, replaceRoute } from './routes';
import { allowPeer, peerRulesPresent, revokePeer, type PresentPeerRule } from './security-groups';
import { awsCapabilities } from './capabilities';

export interface AwsProvider extends CloudProvider {
  readonly name: 'aws';
  /**
   * One CreateRoute call. Resolves 'created'; never 'exists': EC2's RouteAlreadyExists cannot tell the
   * next hop, so it throws CloudError('conflict', providerCode 'RouteAlreadyExists') and the caller
   * reads getRoute to decide whether the route is ours (success) or someone else's. EC2 CreateRoute
   * has no ClientToken, so `clientToken` is ignored.
   */
  createRoute(route: RouteSpec, clientToken: string): Promise<'created' | 'exists'>;
  /** One ReplaceRoute call re-pointing a route we own at route.instanceId; 'not_found' if it is gone. */
  replaceRoute(route: RouteSpec): Promise<void>;
  /** Paged reads: which of allowPeer's three rules for the peer the group holds now. */
  peerRulesPresent(rule: Omit<PeerRule, 'description'>): Promise<PresentPeerRule[]>;
}

export interface AwsProviderOptions extends Ec2ClientOptions {
  /** Use this client instead of building one from the target. */
  client?: EC2Client;
}

export function createAwsProvider(target: CloudTarget, opts: AwsProviderOptions = {}): AwsProvider {
  if (target.provider !== 'aws') throw new Error(`createAwsProvider got a ${target.provider} target`);
  const client = opts.client ?? createEc2Client(target, opts);
  return {
    name: 'aws',
    capabilities: awsCapabilities,
    discover: (publicIp, discoverOptions) => discoverGateway(client, publicIp, discoverOptions),
    createRoute: (route, _clientToken) => createRoute(client, route),
    getRoute: (route) => getRoute(client, route),
    deleteRoute: (route) => deleteRoute(client, route),
    replaceRoute: (route) => replaceRoute(client, route),
    // Routing through the gateway needs source/destination checking off; setting it twice is harmless.
    prepareInstance: async (instanceId) => {
      await ec2Call('ModifyInstanceAttribute', () =>
        client.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, SourceDestCheck: { Value: false } })),
      );
    },
    allowPeer: (rule) => allowPeer(client, rule),
    revokePeer: (rule) => revokePeer(client, rule),
    peerRulesPresent: (rule) => peerRulesPresent(client, rule),
  };
}
