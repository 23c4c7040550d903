// The source range of a peer rule (PeerRule.peerIp), shared by the providers: an address means that
// one host, a CIDR that network, 0.0.0.0/0 or ::/0 every source (a peer whose address is unknown).
import { isIP } from 'node:net';
import { CidrError, parseCidr } from '../lib/cidr';
import { CloudError } from './types';

export interface PeerSource {
  family: 4 | 6;
  /** Canonical CIDR text, as the clouds store and list it: "198.51.100.7/32", "0.0.0.0/0", "::/0". */
  cidr: string;
}

/** Parses peerIp strictly; anything else is CloudError('invalid'), thrown before any call. */
export function peerSource(peerIp: string): PeerSource {
  const family = isIP(peerIp);
  const text = family === 0 ? peerIp : `${peerIp}/${family === 4 ? 32 : 128}`;
  try {
    const parsed = parseCidr(text);
    // parseCidr reads IPv4-mapped IPv6 ("::ffff:0:0/96") as IPv4: refused, so that the family of
    // the rule (SourceCidrIp or its IPv6 field) is the family its text shows.
    if (parsed.family === 4 && peerIp.includes(':')) throw new CidrError(`"${peerIp}" is IPv4-mapped IPv6; write it as ${parsed.text}`);
    return { family: parsed.family, cidr: parsed.text };
  } catch (err) {
    if (err instanceof CidrError) throw new CloudError('invalid', `peer rule source: ${err.message}`);
    throw err;
  }
}

/** True when a rule's listed source is `source` (spelling aside: the clouds answer in their own form). */
export function sameSource(listed: string | undefined, source: PeerSource): boolean {
  // The family shown, too: an IPv6 rule for "::ffff:0:0/96" parses as 0.0.0.0/0 but is not that rule.
  if (!listed || listed.includes(':') !== (source.family === 6)) return false;
  try {
    return parseCidr(listed).text === source.cidr;
  } catch {
    return false;
  }
}
