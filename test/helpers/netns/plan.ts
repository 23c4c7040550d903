// Names and addresses of everything a fixture creates, computed up front so that setup, teardown
// and the stale-run sweep all agree on them.
import os from 'node:os';
import path from 'node:path';

export interface SiteSpec {
  /** Short site name: [a-z0-9-], at most 16 characters. */
  name: string;
  /** The address peers dial (198.51.100.0/24 or 203.0.113.0/24 in tests). */
  publicIp: string;
  /** The site's private network, e.g. 10.1.0.0/24; the gateway takes .1 and the host .2. */
  lanCidr: string;
  /** Cloud shape: the gateway holds only a private address and a NAT namespace maps publicIp 1:1 onto it. */
  behindNat?: boolean;
  /**
   * The NAT in front of the gateway: 'one-to-one' is `behindNat: true`; 'masquerade' is a typical NAT
   * router (source NAT with conntrack, no inbound at all), so the site can only initiate.
   */
  nat?: 'one-to-one' | 'masquerade';
  /** Drops everything from the site (gateway and LAN) to the controller address: only the fixture's proxy gets there. */
  onlyThroughProxy?: boolean;
}

/** What sits in front of a site's gateway. */
export type NatKind = 'none' | 'one-to-one' | 'masquerade';

/** The fixture's HTTP CONNECT proxy (tinyproxy) on the internet bridge. */
export interface ProxySpec {
  /** Its own address on the fixture's internet (198.51.100.0/24 or 203.0.113.0/24 in tests). */
  publicIp: string;
  /** Listening port; 3128 unless given. */
  port?: number;
  /** tinyproxy's `Timeout`: seconds of inactivity after which it closes a connection; 600 unless given. */
  idleTimeoutS?: number;
}

export interface ProxyPlan {
  readonly ns: string;
  readonly publicIp: string;
  readonly port: number;
  readonly idleTimeoutS: number;
  /** tinyproxy.conf, tinyproxy.log, tinyproxy.out; `_proxy` cannot collide with a site name. */
  readonly dir: string;
}

export interface SitePlan {
  readonly spec: SiteSpec;
  readonly index: number;
  readonly gwNs: string;
  readonly hostNs: string;
  readonly nat: NatKind;
  /** Set only for sites behind a NAT (either kind). */
  readonly natNs: string | undefined;
  /** The address configured on the gateway's uplink: publicIp, or the private address behind NAT. */
  readonly gwUplinkIp: string;
  /** The NAT's address on the private uplink subnet between gateway and NAT (NAT sites only). */
  readonly natInsideIp: string | undefined;
  readonly gwLanIp: string;
  readonly hostIp: string;
  readonly lanPrefix: number;
  readonly dir: string;
}

/** The documentation ranges sites take public addresses from; gateways reach both on-link. */
export const PUBLIC_RANGES = ['198.51.100.0/24', '203.0.113.0/24'] as const;

const ID_RE = /^[a-z0-9]{1,6}$/;
const SITE_RE = /^[a-z0-9][a-z0-9-]{0,15}$/;

export function assertFixtureId(id: string): void {
  if (!ID_RE.test(id)) throw new Error(`fixture id must match ${ID_RE} (it prefixes namespace and link names): "${id}"`);
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let value = 0;
  for (const part of parts) {
    const n = Number(part);
    if (!/^\d{1,3}$/.test(part) || n > 255) throw new Error(`not an IPv4 address: ${ip}`);
    value = value * 256 + n;
  }
  return value;
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): { network: number; prefix: number } {
  const [ip, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  if (ip === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const value = ipToInt(ip);
  return { network: value - (value % size), prefix };
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const prefix = Math.min(x.prefix, y.prefix);
  const size = 2 ** (32 - prefix);
  return Math.floor(x.network / size) === Math.floor(y.network / size);
}

/** A per-fixture controller address in 198.18.0.0/15 (RFC 2544), so parallel fixtures differ. */
export function defaultControllerIp(id: string): string {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) % 65_021;
  return intToIp(ipToInt('198.18.0.0') + 256 + hash * 2 + 1);
}

export function baseDirFor(id: string): string {
  return path.join(os.tmpdir(), `netns-${id}`);
}

export function rootLinkName(id: string): string {
  return `${id}-ctl`;
}

export function inetNsName(id: string): string {
  return `${id}-inet`;
}

export function proxyNsName(id: string): string {
  return `${id}-proxy`;
}

/** `behindNat` and `nat` name the same thing; both given, they must agree. */
export function natKindOf(spec: SiteSpec): NatKind {
  const fromFlag: NatKind | undefined = spec.behindNat === undefined ? undefined : spec.behindNat ? 'one-to-one' : 'none';
  if (spec.nat !== undefined && spec.nat !== 'one-to-one' && spec.nat !== 'masquerade') {
    throw new Error(`site ${spec.name}: nat must be 'one-to-one' or 'masquerade', not ${JSON.stringify(spec.nat)}`);
  }
  if (fromFlag !== undefined && spec.nat !== undefined && fromFlag !== spec.nat) {
    throw new Error(`site ${spec.name}: behindNat: ${String(spec.behindNat)} contradicts nat: '${spec.nat}' (give one of them)`);
  }
  return spec.nat ?? fromFlag ?? 'none';
}

export function planProxy(id: string, spec: ProxySpec, sites: readonly SitePlan[]): ProxyPlan {
  ipToInt(spec.publicIp);
  const port = spec.port ?? 3128;
  const idleTimeoutS = spec.idleTimeoutS ?? 600;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`proxy port must be 1-65535: ${port}`);
  if (!Number.isInteger(idleTimeoutS) || idleTimeoutS < 1) throw new Error(`proxy idleTimeoutS must be a positive integer: ${idleTimeoutS}`);
  const clash = sites.find((p) => p.spec.publicIp === spec.publicIp);
  if (clash !== undefined) throw new Error(`the proxy and site ${clash.spec.name} share the public IP ${spec.publicIp}`);
  return { ns: proxyNsName(id), publicIp: spec.publicIp, port, idleTimeoutS, dir: path.join(baseDirFor(id), '_proxy') };
}

export function planSites(id: string, sites: readonly SiteSpec[]): SitePlan[] {
  const seen = new Set<string>();
  const plans = sites.map((spec, index): SitePlan => {
    if (!SITE_RE.test(spec.name)) throw new Error(`site name must match ${SITE_RE}: "${spec.name}"`);
    if (seen.has(spec.name)) throw new Error(`duplicate site name "${spec.name}"`);
    seen.add(spec.name);
    ipToInt(spec.publicIp);
    const lan = parseCidr(spec.lanCidr);
    if (lan.prefix > 30) throw new Error(`lanCidr ${spec.lanCidr} is too small for a gateway and a host`);
    const nat = natKindOf(spec);
    const natted = nat !== 'none';
    const natSubnet = `172.31.${index}.0/24`;
    if (natted && overlaps(natSubnet, spec.lanCidr)) {
      throw new Error(`lanCidr ${spec.lanCidr} overlaps the NAT uplink ${natSubnet}`);
    }
    const base = `${id}-${spec.name}`;
    return {
      spec,
      index,
      gwNs: `${base}-gw`,
      hostNs: `${base}-host`,
      nat,
      natNs: natted ? `${base}-nat` : undefined,
      gwUplinkIp: natted ? `172.31.${index}.10` : spec.publicIp,
      natInsideIp: natted ? `172.31.${index}.1` : undefined,
      gwLanIp: intToIp(lan.network + 1),
      hostIp: intToIp(lan.network + 2),
      lanPrefix: lan.prefix,
      dir: path.join(baseDirFor(id), spec.name),
    };
  });
  for (const [i, a] of plans.entries()) {
    for (const b of plans.slice(i + 1)) {
      if (overlaps(a.spec.lanCidr, b.spec.lanCidr)) throw new Error(`sites ${a.spec.name} and ${b.spec.name} have overlapping LANs`);
      if (a.spec.publicIp === b.spec.publicIp) throw new Error(`sites ${a.spec.name} and ${b.spec.name} share a public IP`);
    }
  }
  return plans;
}
