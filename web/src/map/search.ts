// The map's search: a gateway matches by a part of its name, or by network: an address or CIDR
// that overlaps one of its CIDRs (IPv4), or a part of a CIDR's text (IPv6, partial input).
import type { Gateway } from '../api/types';

interface V4 {
  base: number;
  mask: number;
}

function parseV4(text: string): V4 | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const ip = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { base: (ip & mask) >>> 0, mask };
}

/** Two IPv4 networks overlap when one contains the other's base. */
function overlaps(x: V4, y: V4): boolean {
  const mask = (x.mask & y.mask) >>> 0;
  return (x.base & mask) >>> 0 === (y.base & mask) >>> 0;
}

export function gatewayMatcher(query: string): ((g: Gateway) => boolean) | undefined {
  const q = query.trim().toLowerCase();
  if (!q) return undefined;
  const net = parseV4(q);
  return (g) => {
    if (g.name.toLowerCase().includes(q)) return true;
    for (const cidr of g.cidrs) {
      if (net) {
        const own = parseV4(cidr);
        if (own && overlaps(own, net)) return true;
      } else if (cidr.toLowerCase().includes(q)) return true;
    }
    return false;
  };
}
