// Where a gateway can be reached and by whom, from what the operator stated, what the cloud
// confirmed and what the hub observed, and from that which end of a link initiates IKE. Pure
// functions over stored rows: the API (views, refusals), the plan and the tests use the same ones.
import type { StoredFacts } from '../store';

/** Where the address came from: the operator, the cloud (discovery by it), or the agent's connection. */
export type AddressSource = 'operator' | 'cloud' | 'observed' | 'unknown';
/** Whether peers can open a connection to the site: stated, known from the address, or not known. */
export type Inbound = 'yes' | 'no' | 'unknown';

export interface Reachability {
  /** The address peers dial, when there is one. */
  address: string | null;
  source: AddressSource;
  inbound: Inbound;
  /** How the agent reached the controller the last time it said so. */
  via?: 'direct' | 'proxy';
  /** The proxy it came through (host:port), never used as the site's address. */
  proxy?: string;
  /** The address the hub saw is not one of the agent's own: a NAT sits in front of the site. */
  behindNat?: boolean;
}

/** The stored columns reachability is computed from. */
export interface GatewayReachRow {
  provider: string;
  publicIp: string | null;
  inbound: boolean | null;
  /** As the store read it (store/json.ts StoredFacts): validated, lenient about older rows. */
  facts: StoredFacts | null;
  observedIp: string | null;
}

/**
 * The operator's address wins (DESIGN §5); then what the agent reports (PUBLIC_IP, or the cloud's
 * metadata service); then the address the hub saw the agent connect from, but only when the agent
 * says it connected directly: through a proxy, the hub sees the proxy. Agents from before they
 * said how they connect count as direct.
 */
export function reachabilityOf(gateway: GatewayReachRow): Reachability {
  const facts = gateway.facts ?? undefined;
  const via = facts?.connection?.via;
  const connection = facts?.connection ? { via: facts.connection.via, ...(facts.connection.via === 'proxy' ? { proxy: facts.connection.proxy } : {}) } : {};
  const stated: Inbound | undefined = gateway.inbound === true ? 'yes' : gateway.inbound === false ? 'no' : undefined;
  const own = (address: string) => facts?.localAddrs?.includes(address) === true;
  if (gateway.publicIp) {
    const cloud = gateway.provider !== 'onprem';
    // The controller opens a cloud gateway's security group to each peer itself.
    return { address: gateway.publicIp, source: cloud ? 'cloud' : 'operator', inbound: stated ?? (cloud || own(gateway.publicIp) ? 'yes' : 'unknown'), ...connection };
  }
  if (facts?.publicIp) {
    return { address: facts.publicIp, source: 'observed', inbound: stated ?? (own(facts.publicIp) ? 'yes' : 'unknown'), ...connection };
  }
  if (gateway.observedIp && via !== 'proxy') {
    const behindNat = !own(gateway.observedIp);
    return { address: gateway.observedIp, source: 'observed', inbound: stated ?? (behindNat ? 'unknown' : 'yes'), ...connection, ...(facts ? { behindNat } : {}) };
  }
  return { address: null, source: 'unknown', inbound: stated ?? 'unknown', ...connection };
}

/** One end of a link, as far as choosing who initiates goes. */
export interface EndForChoice {
  name: string;
  provider: string;
  reach: Reachability;
}

export type InitiatorChoice = { initiator: 'a' | 'b'; why: string } | { refused: string };

/**
 * Why this end cannot take an incoming IKE connection, or undefined when it may. Unknown is not
 * "no": a gateway whose agent has not connected yet gets its address when it does, and an address
 * behind a NAT may well be mapped (1:1, as in every cloud); the operator says `inbound: false`
 * for a NAT that maps nothing in.
 */
export function cannotRespond(end: EndForChoice): string | undefined {
  if (end.reach.inbound === 'no') return `${end.name} accepts no inbound connections (inbound: false)`;
  if (end.reach.address === null && end.reach.via === 'proxy') {
    return `${end.name} reaches the controller through a proxy (${end.reach.proxy ?? 'unknown'}) and has no public address the controller knows`;
  }
  return undefined;
}

/**
 * The end that cannot be reached initiates; when both can, a data center dials the cloud (it may
 * sit behind a firewall that allows only outbound traffic) and otherwise side a does. When neither
 * can, no tunnel can be built: the answer says what to set.
 */
export function chooseInitiator(a: EndForChoice, b: EndForChoice): InitiatorChoice {
  const aCannot = cannotRespond(a);
  const bCannot = cannotRespond(b);
  if (aCannot && bCannot) {
    return {
      refused: `neither end can be reached: ${aCannot}, and ${bCannot}. Give one of them a public address peers can reach (PATCH /api/gateways/:id with publicIp, and inbound: true once its firewall or NAT lets UDP 500 and 4500 in)`,
    };
  }
  if (bCannot) return { initiator: 'b', why: `${b.name} initiates: ${bCannot}` };
  if (aCannot) return { initiator: 'a', why: `${a.name} initiates: ${aCannot}` };
  if (a.provider !== 'onprem' && b.provider === 'onprem') return { initiator: 'b', why: `${b.name} initiates: a data center dials the cloud` };
  if (b.provider !== 'onprem' && a.provider === 'onprem') return { initiator: 'a', why: `${a.name} initiates: a data center dials the cloud` };
  return { initiator: 'a', why: `${a.name} initiates: both ends can be reached, side a dials` };
}

/**
 * Whether the responder may pin the initiator's address: only an address the operator gave or the
 * cloud confirmed stays put. An observed address (a NAT's, a DHCP lease's) can change under a
 * running link, and an unknown one cannot be pinned at all: the responder then accepts the
 * initiator from any address, authenticated by its IKE identity and the link's PSK.
 */
export function pinnableAddress(reach: Reachability): string | undefined {
  return reach.address !== null && (reach.source === 'operator' || reach.source === 'cloud') ? reach.address : undefined;
}
