// What the controller needs from a cloud, behind one small interface with an implementation per
// provider (aliyun, aws) and an on-prem one that touches no cloud. Every mutating method makes
// exactly ONE provider API call, so a rate-limited activity that calls it spends exactly one unit of
// the provider's budget; waiting for asynchronous results is a separate (read) method.
// Every method is idempotent as documented on it.

/** Every provider the controller knows; each has a folder here and an entry in ./capabilities.ts. */
export type CloudProviderName = 'aliyun' | 'aws';

/**
 * What a provider's cloud does differently, as plain data that workflow code can import (no SDK):
 * the orchestration reads these and never the provider's name. One record per provider, in
 * <provider>/capabilities.ts; the provider object and capabilitiesOf() point at the same one.
 */
export interface ProviderCapabilities {
  /**
   * The route API refuses a change while another one of the same table is in flight (Alibaba), so
   * route writes go through the table's workflow, one call at a time. Otherwise the link's
   * workflow writes its routes directly and concurrently.
   */
  readonly serialisedRouteWrites: boolean;
  /**
   * Route entries settle asynchronously (Alibaba: Pending → Available, Deleting → gone): every
   * write is followed by status reads until the route is usable or absent. Otherwise a route is
   * there once createRoute answered.
   */
  readonly asyncRouteEntries: boolean;
  /** getRoute/listRoutes statuses of a route that exists and is usable (a blackhole still "exists"). */
  readonly usableRouteStates: readonly string[];
  /**
   * Most routes of one table that one createRoutes/deleteRoutes call takes (listRoutes waits for
   * them): the table's workflow sends whatever queued meanwhile in calls of up to this many.
   * 0: no batch route API (those three methods are absent).
   */
  readonly routeBatchSize: number;
  /**
   * A route the link owns can be re-pointed at another instance in place (EC2 ReplaceRoute, the
   * replaceRoute method): no gap when the gateway moves. Otherwise the old route is deleted first.
   */
  readonly replaceRouteInPlace: boolean;
  /**
   * createRoute carries an idempotency token (Alibaba ClientToken): our own retry answers
   * 'created', so a duplicate route is never our own earlier call. Without one (EC2), a duplicate
   * that points at our instance on a retry attempt is our own call whose answer was lost.
   * (Batch calls never carry one: see createRoutes.)
   */
  readonly routeIdempotencyToken: boolean;
  /**
   * Security-group rule writes go through the group's workflow, which sends the rules that queued
   * meanwhile in one call. Otherwise the link's workflow makes one call per rule change.
   */
  readonly batchedRuleWrites: boolean;
  /** Most peers' rules one allowPeers/revokePeers call takes; 1: no batch forms (one call per peer). */
  readonly peerRulesPerCall: number;
  /**
   * API calls prepareInstance makes: 1 where an instance must be readied to forward traffic (EC2:
   * source/destination check off), 0 where there is nothing to do (then it is not even called).
   */
  readonly prepareInstanceCalls: 0 | 1;
}

/** The API endpoints (services) of a provider an account may override: keys of CloudEndpoints. */
export type EndpointService = 'vpc' | 'ecs' | 'ec2';

/** Explicit keys; when absent the provider's standard credential chain is used (env, instance role). */
export interface CloudCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** STS session token, when the keys are temporary. */
  securityToken?: string;
}

/**
 * API endpoint overrides (private endpoints in production, emulators in tests), e.g.
 * aliyun: { vpc: 'http://127.0.0.1:9000', ecs: 'http://127.0.0.1:9000' }; aws: { ec2: 'http://127.0.0.1:5000' }.
 */
export type CloudEndpoints = Partial<Record<EndpointService, string>>;

/** One provider account in one region: what a cloud call, a budget and a cloud object belong to. */
export interface CloudRef {
  provider: CloudProviderName;
  accountId: string;
  region: string;
}

export interface CloudTarget {
  provider: CloudProviderName;
  region: string;
  credentials?: CloudCredentials;
  endpoints?: CloudEndpoints;
}

/** Hooks around the read calls of discover(). */
export interface DiscoverOptions {
  /** Awaited before every API call discovery makes, retries of a throttled read included. */
  beforeCall?: () => Promise<void>;
}

/** Everything discovered from a gateway's public IP. */
export interface DiscoveredGateway {
  instanceId: string;
  /** Primary private address of the instance (what the OS sees). */
  privateIp: string;
  /** The public IP or EIP the operator gave (1:1 NAT in front of privateIp). */
  publicIp: string;
  vpcId: string;
  /** vSwitch (aliyun) or subnet (aws) of the instance's primary interface. */
  subnetId: string;
  /** AWS: primary network interface id (routes may target it); aliyun: undefined. */
  networkInterfaceId?: string;
  /** Every CIDR block of the VPC (primary and secondary): the gateway's networks. */
  vpcCidrs: string[];
  /** Every route table of the VPC (the default choice of tables to write). */
  routeTableIds: string[];
  securityGroupIds: string[];
}

export interface RouteSpec {
  routeTableId: string;
  destinationCidr: string;
  /** Next hop: the gateway instance. */
  instanceId: string;
}

/** A route as the cloud reports it. */
export interface RouteState {
  /** aliyun: Pending | Available | Modifying | Deleting; aws: active | blackhole. */
  status: string;
  /** Instance the route points at, when its next hop is an instance (or its interface). */
  instanceId?: string;
  /** Any other next hop (gateway id, ENI of another instance, …), for conflict messages. */
  nextHop: string;
}

/** A security-group rule allowing IKE/NAT-T (and ESP where supported) from one peer. */
export interface PeerRule {
  securityGroupId: string;
  /**
   * The source: an address means that one host (/32 or /128); a CIDR means that network, and
   * 0.0.0.0/0 or ::/0 any source, for a peer whose address is unknown (behind an HTTP proxy: IKE is
   * still authenticated by the link's identities and PSK). Anything else is CloudError('invalid').
   */
  peerIp: string;
  /** Description/tag written on the rule so we only ever remove our own rules. */
  description: string;
}

export type CloudErrorKind =
  /** Rate limited: retry after a delay (never a failure). */
  | 'throttled'
  /** The resource is busy with another change (aliyun route table): retry later. */
  | 'busy'
  /** A transient server-side failure (5xx, timeouts): retry. */
  | 'unavailable'
  /** Something named does not exist (instance, route table, next hop). Permanent. */
  | 'not_found'
  /** A route for that CIDR exists with a different next hop: we must not overwrite it. Permanent. */
  | 'conflict'
  | 'quota'
  | 'invalid'
  /** Credentials are missing, wrong or lack permission. Permanent. */
  | 'auth';

export class CloudError extends Error {
  override name = 'CloudError';
  constructor(
    readonly kind: CloudErrorKind,
    message: string,
    /** The provider's own error code, e.g. "Throttling.User", "RouteAlreadyExists". */
    readonly providerCode?: string,
    /** Server-suggested delay for throttled/busy errors, if any. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'busy' || this.kind === 'unavailable';
  }
}

/** One route's result in a batch call: its outcome, or why that entry (alone) failed. */
export type RouteBatchResult<Outcome extends string> = { route: RouteSpec; outcome: Outcome } | { route: RouteSpec; error: CloudError };

export interface CloudProvider {
  readonly name: CloudProviderName;
  /** What this provider's cloud does differently (plain data, the same record as capabilitiesOf(name)). */
  readonly capabilities: ProviderCapabilities;

  /**
   * Finds the instance that owns `publicIp` (public IP or EIP) and its network. Throws
   * CloudError('not_found') when no instance has it and CloudError('invalid') when several do.
   * Several read calls (more when lists page), each one after `options.beforeCall` resolved: the
   * caller takes one budget slot per call there, so reads stay spaced like single calls.
   */
  discover(publicIp: string, options?: DiscoverOptions): Promise<DiscoveredGateway>;

  /**
   * One call: creates the route. Resolves 'created' (aliyun: the entry may still be Pending — poll
   * getRoute until Available) or 'exists' when the same route with the same next hop is already
   * there. Throws CloudError('conflict') when the CIDR is routed elsewhere, 'busy' when the table
   * is being changed (aliyun), 'quota', 'not_found' (table or instance), 'invalid' (CIDR).
   * `clientToken` is a deterministic idempotency token for this intent (aliyun ClientToken).
   */
  createRoute(route: RouteSpec, clientToken: string): Promise<'created' | 'exists'>;

  /**
   * Present exactly when capabilities.replaceRouteInPlace (EC2; Alibaba has no such call): one
   * ReplaceRoute re-pointing an existing route, which the caller owns, at route.instanceId in
   * place. Throws CloudError('not_found') when it is gone.
   */
  replaceRoute?(route: RouteSpec): Promise<void>;

  /** One call: the route for route.destinationCidr in route.routeTableId, or undefined if absent. */
  getRoute(route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>): Promise<RouteState | undefined>;

  /**
   * One call: deletes the route. Resolves 'deleted' (aliyun: may still be Deleting — poll getRoute
   * until absent) or 'absent' when there is no such route. The caller only deletes routes it owns.
   */
  deleteRoute(route: RouteSpec): Promise<'deleted' | 'absent'>;

  /**
   * Present exactly when capabilities.routeBatchSize > 0 (aliyun; AWS has no batch route API). One
   * call creating several routes of ONE route table: at most routeBatchSize, distinct destinations,
   * else CloudError('invalid') without a call; [] makes no call. Results come in input order: 'created' (aliyun: Pending — poll getRoute)
   * or the entry's own CloudError with the same kinds as createRoute. A destination already routed is
   * always a 'conflict' error (never 'exists': the response does not say whose the existing route
   * is), so read getRoute, as after createRoute. There is no ClientToken: a retry after a lost answer
   * sees its own earlier entries as conflicts. Whole-call failures (throttled, busy table, auth,
   * unavailable) are thrown as CloudError, nothing written.
   */
  createRoutes?(routes: readonly RouteSpec[]): Promise<RouteBatchResult<'created' | 'exists'>[]>;

  /**
   * Present with createRoutes (aliyun only). One call deleting several routes of ONE route table, each by
   * destination AND our instance as next hop, with the limits of createRoutes. Results in input
   * order: 'deleted' (aliyun: Deleting — poll getRoute until absent), 'absent' (no such route with
   * that next hop), or the entry's own CloudError. Whole-call failures are thrown, nothing deleted.
   */
  deleteRoutes?(routes: readonly RouteSpec[]): Promise<RouteBatchResult<'deleted' | 'absent'>[]>;

  /**
   * Present with createRoutes (aliyun only), to wait for a batch: the custom routes of a table with their states.
   * aliyun: one DescribeRouteEntryList call per 100 custom entries (two at the default quota of 200).
   */
  listRoutes?(routeTableId: string): Promise<Array<RouteState & { destinationCidr: string }>>;

  /**
   * capabilities.prepareInstanceCalls calls: AWS one, turning off source/destination checking;
   * aliyun none (resolves at once).
   */
  prepareInstance(instanceId: string): Promise<void>;

  /** One call: allows UDP 500 and 4500 (and ESP where the cloud supports it) from peerIp. Existing rule = success. */
  allowPeer(rule: PeerRule): Promise<void>;

  /** One call: removes exactly the rules allowPeer added. Missing rule = success. */
  revokePeer(rule: PeerRule): Promise<void>;
  /**
   * Batch forms, present exactly when capabilities.peerRulesPerCall > 1: the rules of several peers
   * in ONE call, all in one security group, at most peerRulesPerCall peers (else CloudError('invalid') without a call). Same
   * idempotence as the single forms.
   */
  allowPeers?(rules: readonly PeerRule[]): Promise<void>;
  revokePeers?(rules: readonly PeerRule[]): Promise<void>;
}
