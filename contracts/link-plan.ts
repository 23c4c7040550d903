// What a link should look like on each end, derived from one plan: the IPsec config each agent
// gets, the routes each cloud end needs, the security-group rule for the peer. Pure functions, so
// the workflow (which applies them), the API (which previews a change) and tests compute the same
// thing, and a change is exactly the difference of two plans.
import type { LinkConfig } from '../protocol/messages';
import type { CloudRef, PeerRule, RouteSpec } from '../cloud/types';

export type SideName = 'a' | 'b';

export interface LinkSide {
  gatewayId: string;
  gatewayName: string;
  /** Public address peers dial; undefined until the gateway was registered with one or connected once. */
  endpoint?: string;
  /**
   * Whether the endpoint stays put (the operator's, or confirmed by the cloud), so a responder may
   * accept this end from that address only. False for an observed address, which a NAT or ISP can
   * change under a running link: the responder then accepts it from any address (IKE identities
   * and the link's PSK authenticate it). Absent in plans from before: pinned.
   */
  pinEndpoint?: boolean;
  /** Why peers cannot open a connection to this end (a proxy, inbound: false), when they cannot. */
  unreachable?: string;
  cidrs: string[];
  identity: string;
  /** Task queue of the controller holding the gateway's agent when the plan was made. */
  queue?: string;
  /** Present for gateways in a cloud: what the link's cloud steps need. */
  cloud?: {
    ref: CloudRef;
    instanceId: string;
    routeTableIds: string[];
    securityGroupIds: string[];
  };
}

export interface LinkPlan {
  linkId: string;
  name: string;
  state: string;
  a: LinkSide;
  b: LinkSide;
  /** Which side initiates IKE. */
  initiator: SideName;
  /**
   * Version of the link's pre-shared key (the key itself never enters a plan): a rotation bumps
   * it, so a new key is pushed to both ends and the tunnel re-authenticated like any other change.
   * Absent in plans made before keys rotated: version 1.
   */
  keyVersion?: number;
  /** Who initiates and why, in words (events, the plan preview). */
  initiatorWhy?: string;
  /** Set when no end can take an incoming connection: the link cannot come up until that changes. */
  refused?: string;
}

/** Only the non-secret parts of a link config travel through workflow history. */
export type PublicLinkConfig = Omit<LinkConfig, 'psk'>;

export const other = (s: SideName): SideName => (s === 'a' ? 'b' : 'a');
export const peerOf = (plan: LinkPlan, s: SideName): LinkSide => plan[other(s)];

/** A peer rule's source for an initiator whose address is unknown: any IPv4 address. */
export const ANY_PEER = '0.0.0.0/0';

/** Security-group rule description: marks the rule as ours. */
export const ruleDescription = (peerIp: string): string => `ipsec-mesh peer ${peerIp}`;

export function configFor(plan: LinkPlan, self: SideName, version: number): PublicLinkConfig {
  const me = plan[self];
  const peer = peerOf(plan, self);
  return {
    name: plan.name,
    version,
    localId: me.identity,
    remoteId: peer.identity,
    // Clouds put 1:1 NAT in front of the gateway: never assume the public address is local.
    localAddrs: ['%any'],
    // The initiator dials the peer's address; a responder pins the initiator's only when it stays put.
    remoteAddrs: [plan.initiator !== self && peer.pinEndpoint === false ? '%any' : (peer.endpoint ?? '%any')],
    localTs: me.cidrs,
    remoteTs: peer.cidrs,
    initiator: plan.initiator === self,
  };
}

/** Every remote CIDR → this side's instance, in each chosen route table (none for on-prem ends). */
export function routesFor(plan: LinkPlan, side: SideName): RouteSpec[] {
  const cloud = plan[side].cloud;
  if (!cloud) return [];
  return cloud.routeTableIds.flatMap((routeTableId) => peerOf(plan, side).cidrs.map((destinationCidr) => ({ routeTableId, destinationCidr, instanceId: cloud.instanceId })));
}

/** The rule letting the peer speak IKE/NAT-T to this side, when this side is in a cloud. */
export function peerRuleFor(plan: LinkPlan, side: SideName): PeerRule | undefined {
  const cloud = plan[side].cloud;
  // An initiator with no known address (it reaches the controller through a proxy) can only be let
  // in from anywhere; IKE then authenticates it by identity and PSK.
  const peer = peerOf(plan, side);
  const peerIp = peer.endpoint ?? (plan.initiator !== side && peer.unreachable !== undefined ? ANY_PEER : undefined);
  if (!cloud || !peerIp || cloud.securityGroupIds.length === 0) return undefined;
  return { securityGroupId: cloud.securityGroupIds[0]!, peerIp, description: ruleDescription(peerIp) };
}

/** Request ids the serialising workflows (route table, security group) dedupe by: one per intent. */
export const createRequestId = (linkId: string, claimId: number): string => `${linkId}:${claimId}:create`;
export const allowRequestId = (linkId: string, gatewayId: string, peerIp: string): string => `${linkId}:${gatewayId}:allow:${peerIp}`;

export const routeKey = (r: RouteSpec): string => `${r.routeTableId}|${r.destinationCidr}|${r.instanceId}`;

export interface SideChange {
  /** The agent's config differs (anything but the version). */
  config: boolean;
  routesAdded: RouteSpec[];
  routesRemoved: RouteSpec[];
  ruleAdded?: PeerRule;
  ruleRemoved?: PeerRule;
}

export interface PlanChange {
  a: SideChange;
  b: SideChange;
  /** The CIDRs the link carries changed (an operator's change, which can be rolled back). */
  cidrs: boolean;
  /** A gateway's public address changed (a fact of the network: it is followed, not rolled back). */
  endpoints: boolean;
  /** The pre-shared key was rotated (both configs change; followed, not rolled back). */
  key: boolean;
  /** The initiator's address changed: it re-initiates even when no config changes. */
  initiatorMoved: boolean;
  /** Nothing to do. */
  none: boolean;
}

export function diffPlans(from: LinkPlan, to: LinkPlan): PlanChange {
  const key = (from.keyVersion ?? 1) !== (to.keyVersion ?? 1);
  const side = (sideName: SideName): SideChange => {
    const before = new Map(routesFor(from, sideName).map((r) => [routeKey(r), r]));
    const after = new Map(routesFor(to, sideName).map((r) => [routeKey(r), r]));
    const oldRule = peerRuleFor(from, sideName);
    const newRule = peerRuleFor(to, sideName);
    const sameRule = oldRule?.securityGroupId === newRule?.securityGroupId && oldRule?.peerIp === newRule?.peerIp;
    return {
      config: key || comparable(configFor(from, sideName, 0)) !== comparable(configFor(to, sideName, 0)),
      routesAdded: [...after].filter(([k]) => !before.has(k)).map(([, r]) => r),
      routesRemoved: [...before].filter(([k]) => !after.has(k)).map(([, r]) => r),
      ...(!sameRule && newRule ? { ruleAdded: newRule } : {}),
      ...(!sameRule && oldRule ? { ruleRemoved: oldRule } : {}),
    };
  };
  const a = side('a');
  const b = side('b');
  const cidrs = !sameList(from.a.cidrs, to.a.cidrs) || !sameList(from.b.cidrs, to.b.cidrs);
  const endpoints = from.a.endpoint !== to.a.endpoint || from.b.endpoint !== to.b.endpoint;
  // The initiator moved while the responder accepts it from anywhere: no config changes, but its
  // IKE_SA still runs on the old address (a NAT's new mapping leads nowhere): it must dial again.
  const initiatorMoved = from.initiator === to.initiator && from[to.initiator].endpoint !== to[to.initiator].endpoint;
  const quiet = (c: SideChange) => !c.config && !c.routesAdded.length && !c.routesRemoved.length && !c.ruleAdded && !c.ruleRemoved;
  return { a, b, cidrs, endpoints, key, initiatorMoved, none: quiet(a) && quiet(b) && !initiatorMoved };
}

/** Order does not matter to a list of CIDRs or traffic selectors. */
function sameList(x: string[], y: string[]): boolean {
  const sx = [...x].sort();
  const sy = [...y].sort();
  return sx.length === sy.length && sx.every((v, i) => v === sy[i]);
}

function comparable(c: PublicLinkConfig): string {
  return JSON.stringify({ ...c, localTs: [...c.localTs].sort(), remoteTs: [...c.remoteTs].sort() });
}

/** One line for events and the plan preview. */
export function describeChange(from: LinkPlan, to: LinkPlan, change: PlanChange): string {
  const parts: string[] = [];
  if (change.key) parts.push(`new pre-shared key (version ${to.keyVersion ?? 1}) on both ends`);
  if (from.initiator !== to.initiator && to.initiatorWhy) parts.push(to.initiatorWhy);
  for (const s of ['a', 'b'] as const) {
    if (!sameList(from[s].cidrs, to[s].cidrs)) parts.push(`${to[s].gatewayName} carries ${to[s].cidrs.join(', ')} (was ${from[s].cidrs.join(', ')})`);
    if (from[s].endpoint !== to[s].endpoint) parts.push(`${to[s].gatewayName} is now at ${to[s].endpoint ?? 'an unknown address'} (was ${from[s].endpoint ?? 'unknown'})`);
    const r = change[s];
    if (r.routesAdded.length || r.routesRemoved.length) parts.push(`${to[s].gatewayName}: +${r.routesAdded.length}/-${r.routesRemoved.length} route(s)`);
  }
  return parts.join('; ') || 'no change';
}
