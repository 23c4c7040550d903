// What the console reads from the API, named once. Provisional shapes until the generated
// OpenAPI types (schema.d.ts) land; then each alias points at components['schemas'][…] instead,
// and nothing else in the console changes.
export type Provider = 'onprem' | 'aliyun' | 'aws';
export type LinkState = 'provisioning' | 'up' | 'updating' | 'degraded' | 'failed' | 'deleting' | 'deleted';
export const LINK_STATES: readonly LinkState[] = ['provisioning', 'up', 'updating', 'degraded', 'failed', 'deleting'];

export interface Reachability {
  address: string | null;
  source: 'operator' | 'cloud' | 'observed' | 'unknown';
  inbound: 'yes' | 'no' | 'unknown';
  via?: string;
  proxy?: string;
  behindNat?: boolean;
}

export interface Gateway {
  id: string;
  name: string;
  provider: Provider;
  /** ready | discovering | failed */
  state: 'ready' | 'discovering' | 'failed';
  stateReason: string | null;
  cidrs: string[];
  cloud?: {
    account: string | null;
    region: string | null;
    instanceId: string | null;
    privateIp: string | null;
    vpcId: string | null;
    subnetId: string | null;
    routeTableIds: string[];
    securityGroupIds: string[];
    discoveredAt: string | null;
  };
  publicIp: string | null;
  endpoint: string | null;
  reachability: Reachability;
  online: boolean;
  lastSeenAt: string | null;
  observedIp: string | null;
  controller: string | null;
  createdAt: string;
}

export interface LinkEnd {
  id: string;
  name: string;
  cidrs: string[];
  tunnelUp: boolean | null;
}

export interface LinkEvent {
  at: string;
  type: string;
  message: string;
  data?: unknown;
}

export interface Link {
  id: string;
  state: LinkState;
  stateReason: string | null;
  a: LinkEnd;
  b: LinkEnd;
  workflowId: string;
  workflowUrl: string | null;
  keyVersion: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  deleteRequestedAt: string | null;
  events?: LinkEvent[];
}

export interface RouteSpec {
  routeTableId: string;
  destinationCidr: string;
  instanceId: string;
}

export interface PeerRule {
  securityGroupId: string;
  peerIp: string;
  description: string;
}

export interface TunnelConfig {
  name: string;
  localId: string;
  remoteId: string;
  localAddrs: string[];
  remoteAddrs: string[];
  localTs: string[];
  remoteTs: string[];
  initiator: boolean;
}

export interface PlanSide {
  gateway: { id: string; name: string };
  cidrs: { before: string[]; after: string[] };
  config: { changed: boolean; before: TunnelConfig; after: TunnelConfig };
  routes: { add: RouteSpec[]; remove: RouteSpec[] };
  securityGroupRules: { add: PeerRule[]; remove: PeerRule[] };
}

/** POST /api/links/:id/plan. */
export interface LinkPlanPreview {
  changed: boolean;
  summary: string;
  tunnelRestart: boolean;
  a: PlanSide;
  b: PlanSide;
}

export interface CloudAccount {
  id: string;
  name: string;
  provider: Exclude<Provider, 'onprem'>;
  credentials: string;
  endpoints: Record<string, string>;
  createdAt: string;
}

export interface CreatedGateway extends Gateway {
  agentSecret: string;
}

export interface NewOnpremGateway {
  name: string;
  provider: 'onprem';
  cidrs: string[];
  publicIp?: string;
  inbound?: boolean;
}
export interface NewCloudGateway {
  name: string;
  provider: 'aliyun' | 'aws';
  region: string;
  publicIp: string;
  account: string;
  routeTables?: string[];
}
export interface GatewayChange {
  name?: string;
  cidrs?: string[];
  publicIp?: string | null;
  inbound?: boolean | null;
}
export interface NewCloudAccount {
  name: string;
  provider: 'aliyun' | 'aws';
  credentials?: { accessKeyId: string; accessKeySecret: string; securityToken?: string };
  endpoints?: Record<string, string>;
}
/** Errors: {"error": {"code", "message", "details"?}} (lib/errors.ts). */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
