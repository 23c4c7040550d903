// What the agent reports about itself, fitted to the protocol's bounds before it is sent: the hub
// closes the socket on a frame outside them (1007), so an agent on a host with a hundred docker
// interfaces, an odd hostname or a long charon error would otherwise reconnect forever.
import { isIP } from 'node:net';
import { Facts, INSTANCE_ID_PATTERN, MAX_REPORTED_ADDRS, REGION_PATTERN } from '../protocol/messages';

/** Text without control characters, at most `max` characters (charon reasons, error messages). */
export function boundedText(text: string, max: number): string {
  const clean = text.replace(/[\p{Cc}]/gu, ' ');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/** An error code: a short identifier. */
export function boundedCode(code: string): string {
  const clean = code.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return clean || 'failed';
}

/**
 * The interface addresses worth reporting: no link-local ones (every interface has one, and they
 * say nothing about reachability), each once, IPv4 first, at most MAX_REPORTED_ADDRS.
 */
export function reportableAddrs(addrs: Iterable<string>): string[] {
  const keep = new Set<string>();
  for (const raw of addrs) {
    const addr = raw.toLowerCase();
    if (isIP(addr) === 0) continue; // zone ids ("fe80::1%eth0") and anything else odd
    if (addr.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/.test(addr)) continue;
    keep.add(addr);
  }
  const sorted = [...keep].sort((x, y) => isIP(x) - isIP(y) || x.localeCompare(y));
  return sorted.slice(0, MAX_REPORTED_ADDRS);
}

const printable = (text: string, max: number): string | undefined => {
  const clean = text.replace(/[^\x20-\x7e]/g, '').trim().slice(0, max);
  return clean || undefined;
};

/** Builds facts the hub will accept: each field fitted, or left out when it cannot be. */
export function boundedFacts(raw: {
  agentVersion: string;
  hostname?: string;
  publicIp?: string;
  localAddrs?: string[];
  strongswanVersion?: string;
  cloud?: { provider: 'aliyun' | 'aws'; instanceId: string; region?: string };
}): Facts {
  const hostname = raw.hostname?.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 253);
  const strongswan = raw.strongswanVersion === undefined ? undefined : printable(raw.strongswanVersion, 64);
  const cloud = raw.cloud && INSTANCE_ID_PATTERN.test(raw.cloud.instanceId) ? raw.cloud : undefined;
  const facts: Facts = {
    agentVersion: printable(raw.agentVersion, 64) ?? 'unknown',
    ...(hostname ? { hostname } : {}),
    ...(raw.publicIp && isIP(raw.publicIp) ? { publicIp: raw.publicIp } : {}),
    ...(raw.localAddrs ? { localAddrs: reportableAddrs(raw.localAddrs) } : {}),
    ...(strongswan ? { strongswanVersion: strongswan } : {}),
    ...(cloud
      ? { cloud: { provider: cloud.provider, instanceId: cloud.instanceId, ...(cloud.region && REGION_PATTERN.test(cloud.region) && cloud.region.length <= 32 ? { region: cloud.region } : {}) } }
      : {}),
  };
  // The schema has the last word; a field it still refuses is dropped rather than sent.
  const checked = Facts.safeParse(facts);
  if (checked.success) return checked.data;
  const bad = new Set(checked.error.issues.map((i) => String(i.path[0])));
  return Object.fromEntries(Object.entries(facts).filter(([key]) => !bad.has(key) || key === 'agentVersion')) as Facts;
}
