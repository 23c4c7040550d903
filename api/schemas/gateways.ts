// What /api/gateways answers: a gateway as gatewayView (api/views.ts) shows it, never its secret
// (only the one-time answers that hand a secret out carry it).
import { z } from 'zod';
import { PROVIDER_NAMES } from '../../cloud/capabilities';
import { Timestamp } from './common';

export const GatewayProvider = z.enum(['onprem', ...PROVIDER_NAMES]).meta({ id: 'GatewayProvider', description: 'onprem, or the cloud the gateway runs in' });
export const GatewayState = z.enum(['ready', 'discovering', 'failed']).meta({ id: 'GatewayState', description: 'Cloud gateways are discovered from their public IP; on-prem ones are ready at once' });

export const Reachability = z
  .strictObject({
    address: z.string().nullable().meta({ description: 'The address peers dial' }),
    source: z.enum(['operator', 'cloud', 'observed', 'unknown']).meta({ description: 'Where the address came from' }),
    inbound: z.enum(['yes', 'no', 'unknown']).meta({ description: 'Whether peers can open a connection to the site' }),
    via: z.enum(['direct', 'proxy']).optional().meta({ description: 'How the agent reached the controller the last time it said so' }),
    proxy: z.string().optional().meta({ description: 'The proxy it came through (host:port), never used as the address' }),
    behindNat: z.boolean().optional().meta({ description: 'The address the hub saw is not one of the agent\'s own' }),
  })
  .meta({ id: 'Reachability' });

/** What the agent reported in its hello; fields the controller does not read are kept for display. */
export const GatewayFacts = z
  .looseObject({
    publicIp: z.string().optional(),
    localAddrs: z.array(z.string()).optional(),
    connection: z.union([z.strictObject({ via: z.literal('direct') }), z.strictObject({ via: z.literal('proxy'), proxy: z.string() })]).optional(),
  })
  .meta({ id: 'GatewayFacts' });

export const GatewayCloud = z
  .strictObject({
    account: z.string().nullable(),
    region: z.string().nullable(),
    instanceId: z.string().nullable(),
    privateIp: z.string().nullable(),
    vpcId: z.string().nullable(),
    subnetId: z.string().nullable(),
    routeTableIds: z.array(z.string()),
    securityGroupIds: z.array(z.string()),
    discoveredAt: Timestamp.nullable(),
  })
  .meta({ id: 'GatewayCloud', description: 'What discovery found (null until it did)' });

export const Gateway = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    provider: GatewayProvider,
    state: GatewayState,
    stateReason: z.string().nullable(),
    cidrs: z.array(z.string()).meta({ description: 'The networks behind the gateway' }),
    cloud: GatewayCloud.optional().meta({ description: 'Present for gateways in a cloud' }),
    publicIp: z.string().nullable(),
    endpoint: z.string().nullable().meta({ description: 'The address peers dial (reachability.address)' }),
    reachability: Reachability,
    online: z.boolean(),
    lastSeenAt: Timestamp.nullable(),
    observedIp: z.string().nullable(),
    facts: GatewayFacts.nullable(),
    controller: z.string().nullable().meta({ description: 'The controller instance holding the agent\'s connection' }),
    createdAt: Timestamp,
  })
  .meta({ id: 'Gateway' });
export type GatewayView = z.infer<typeof Gateway>;

export const GatewayList = z.strictObject({ gateways: z.array(Gateway) }).meta({ id: 'GatewayList' });

export const RegisteredGateway = Gateway.extend({
  agentSecret: z.string().meta({ description: 'The agent\'s secret: shown this once, only its hash is stored' }),
  agentUrl: z.string().nullable().meta({ description: 'The URL the agent dials (its CONTROLLER_URL): AGENT_PUBLIC_URL, else the agent listener as reached from here; null when this controller does not serve agents and AGENT_PUBLIC_URL is unset' }),
}).meta({ id: 'RegisteredGateway' });

export const UpdatedGateway = Gateway.extend({
  linksNotYetReplanned: z.array(z.string()).optional().meta({ description: 'Links whose workflow could not be told now; they re-plan at the gateway\'s next reconnect' }),
}).meta({ id: 'UpdatedGateway' });

export const EnrolmentToken = z
  .strictObject({
    gatewayId: z.string(),
    token: z.string().meta({ description: 'Single use, shown this once' }),
    expiresAt: Timestamp,
    install: z.string().meta({ description: 'The environment lines the agent starts with' }),
  })
  .meta({ id: 'EnrolmentToken' });
