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
}

export interface SitePlan {
  readonly spec: SiteSpec;
  readonly index: number;
  readonly gwNs: string;
  readonly hostNs: string;
  /** Set only for behindNat sites. */
  readonly natNs: string | undefined;
  /** The address configured on the gateway's uplink: publicIp, or the private address behind NAT. */
  readonly gwUplinkIp: string;
  /** Private uplink subnet between gateway and NAT (behindNat only). */
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

export function planSites(id: string, sites: readonly SiteSpec[]): SitePlan[] {
  const seen = new Set<string>();
  const plans = sites.map((spec, index): SitePlan => {
    if (!SITE_RE.test(spec.name)) throw new Error(`site name must match ${SITE_RE}: "${spec.name}"`);
    if (seen.has(spec.name)) throw new Error(`duplicate site name "${spec.name}"`);
    seen.add(spec.name);
    ipToInt(spec.publicIp);
    const lan = parseCidr(spec.lanCidr);
    if (lan.prefix > 30) throw new Error(`lanCidr ${spec.lanCidr} is too small for a gateway and a host`);
    const natSubnet = `172.31.${index}.0/24`;
    if (spec.behindNat === true && overlaps(natSubnet, spec.lanCidr)) {
      throw new Error(`lanCidr ${spec.lanCidr} overlaps the NAT uplink ${natSubnet}`);
    }
    const base = `${id}-${spec.name}`;
    return {
      spec,
      index,
      gwNs: `${base}-gw`,
      hostNs: `${base}-host`,
      natNs: spec.behindNat === true ? `${base}-nat` : undefined,
      gwUplinkIp: spec.behindNat === true ? `172.31.${index}.10` : spec.publicIp,
      natInsideIp: spec.behindNat === true ? `172.31.${index}.1` : undefined,
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
