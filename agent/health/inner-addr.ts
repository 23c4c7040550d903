// A gateway's own address inside the networks a link carries. With userspace ESP charon routes the
// remote networks with a source address from the local traffic selector (README: "Gateways and
// secondary CIDRs"), so a gateway carrying a link has one; probes leave from it and its responder
// listens on it, which puts both through the tunnel.
import { networkInterfaces } from 'node:os';

export { innerAddrFor } from '../../protocol/addresses';

/** The addresses on this host's interfaces (no loopback, no link-local scope ids). */
export function interfaceAddrs(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.includes('%'))
    .map((a) => a!.address);
}
