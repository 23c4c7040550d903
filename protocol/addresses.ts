// Which address lies inside which networks: the agent uses it to find its inner address, the hub
// to check the one an agent reports (DESIGN §5) before telling its peer to probe it.
import { isIPv4, isIPv6 } from 'node:net';
import { contains, parseCidr } from '../lib/cidr';

/** The first of `addrs` inside one of `cidrs` (traffic selectors as charon prints them). */
export function innerAddrFor(cidrs: readonly string[], addrs: readonly string[]): string | undefined {
  const nets = cidrs.flatMap((text) => {
    try {
      return [parseCidr(text)];
    } catch {
      return []; // a selector such as "10.1.0.0/24[tcp]" or a range is not a network we look in
    }
  });
  for (const addr of addrs) {
    const bits = isIPv4(addr) ? 32 : isIPv6(addr) ? 128 : 0;
    if (!bits) continue;
    const host = parseCidr(`${addr}/${bits}`);
    if (nets.some((net) => contains(net, host))) return addr;
  }
  return undefined;
}
