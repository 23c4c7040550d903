// The unit the agent listener's limits count by: one IPv4 address, or one IPv6 /64, since whoever
// holds an IPv6 address usually holds its whole /64 and could otherwise rotate through it.
import { isIPv6 } from 'node:net';
import { normaliseIp } from '../lib/net';

/** "198.51.100.7", or "2001:db8:0:1::/64" for any address in that /64. */
export function sourceOf(remoteAddress: string | undefined): string {
  const ip = normaliseIp(remoteAddress);
  if (!ip) return 'unknown';
  const bare = ip.split('%')[0]!; // a zone id ("fe80::1%eth0") names an interface, not a source
  if (!isIPv6(bare)) return bare;
  return `${v6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function v6Groups(ip: string): string[] {
  const toGroups = (part: string): string[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [g];
          // An embedded IPv4 tail ("64:ff9b::198.51.100.7") is two groups.
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
  const front = toGroups(head);
  const back = tail === undefined ? [] : toGroups(tail);
  const zeros = Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0');
  return [...front, ...zeros, ...back].map((g) => parseInt(g, 16).toString(16));
}
