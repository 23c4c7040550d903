// CIDR parsing and overlap checks for IPv4 and IPv6, strict about what an operator typed:
// "10.1.0.5/24" is refused (it is not a network address) with a suggestion.
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
  readonly text: string;
}

export class CidrError extends Error {
  override name = 'CidrError';
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(ip: string): bigint {
  let s = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4tail) {
    const n = v4ToBig(v4tail[1]!);
    s = s.slice(0, -v4tail[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
}

function bigToV6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best[1]! && j - i > 1) best = [i, j - i];
    i = j;
  }
  if (best[0]! < 0) return groups.join(':');
  return `${groups.slice(0, best[0]).join(':')}::${groups.slice(best[0]! + best[1]!).join(':')}`;
}

/** Parses "a.b.c.d/n" or "x::/n"; throws CidrError saying what is wrong. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!m) throw new CidrError(`"${text}" is not a CIDR (expected address/prefix, e.g. 10.1.0.0/24)`);
  const [, addr, p] = m as unknown as [string, string, string];
  const prefix = Number(p);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (family === 0) throw new CidrError(`"${text}": "${addr}" is not an IP address`);
  const bits = family === 4 ? 32 : 128;
  if (prefix > bits) throw new CidrError(`"${text}": prefix must be 0..${bits}`);
  const value = family === 4 ? v4ToBig(addr) : v6ToBig(addr);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  const network = value & mask;
  const canonical = `${family === 4 ? bigToV4(network) : bigToV6(network)}/${prefix}`;
  if (network !== value) throw new CidrError(`"${text}" is not a network address (did you mean ${canonical}?)`);
  return { family, network, prefix, text: canonical };
}

function range(c: Cidr): [bigint, bigint] {
  const bits = c.family === 4 ? 32 : 128;
  return [c.network, c.network + (1n << BigInt(bits - c.prefix)) - 1n];
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

/** True when `inner` lies entirely inside `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family) return false;
  const [o0, o1] = range(outer);
  const [i0, i1] = range(inner);
  return o0 <= i0 && i1 <= o1;
}

/** The first overlapping pair between two lists, if any. */
export function firstOverlap(as: readonly string[], bs: readonly string[]): [string, string] | undefined {
  for (const a of as) for (const b of bs) if (overlaps(parseCidr(a), parseCidr(b))) return [a, b];
  return undefined;
}

/** Parses a list, rejecting overlaps inside it; returns canonical texts. */
export function normaliseCidrList(list: readonly string[]): string[] {
  const parsed = list.map(parseCidr);
  for (let i = 0; i < parsed.length; i++)
    for (let j = i + 1; j < parsed.length; j++)
      if (overlaps(parsed[i]!, parsed[j]!)) throw new CidrError(`${parsed[i]!.text} and ${parsed[j]!.text} overlap`);
  return parsed.map((c) => c.text);
}
