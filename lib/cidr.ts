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

/** Long enough for any IPv6 text with an IPv4 tail and a prefix; longer input is refused unread. */
const MAX_TEXT = 64;
const shown = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

/** ::ffff:0:0/96, where IPv4 addresses are written as IPv6 ones (RFC 4291 §2.5.5.2). */
const MAPPED_PREFIX = 0xffffn;

/**
 * An address as a family and a number. IPv4-mapped IPv6 addresses become the IPv4 address they
 * stand for, so "::ffff:10.1.0.0" and "10.1.0.0" are one address to every overlap check; zone
 * ids ("fe80::1%eth0") name an interface of one host and mean nothing in a network, so they are refused.
 */
function parseAddress(addr: string, context: string): { family: 4 | 6; value: bigint; mapped: boolean } {
  if (addr.includes('%')) throw new CidrError(`"${shown(context)}": zone ids ("%${shown(addr.slice(addr.indexOf('%') + 1))}") name a host's interface, not a network; leave them out`);
  if (isIPv4(addr)) return { family: 4, value: v4ToBig(addr), mapped: false };
  if (!isIPv6(addr)) throw new CidrError(`"${shown(context)}": "${shown(addr)}" is not an IP address`);
  const value = v6ToBig(addr);
  if (value >> 32n === MAPPED_PREFIX) return { family: 4, value: value & 0xffffffffn, mapped: true };
  return { family: 6, value, mapped: false };
}

const maskOf = (prefix: number, bits: number): bigint => (prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix));
const textOf = (family: 4 | 6, network: bigint, prefix: number): string => `${family === 4 ? bigToV4(network) : bigToV6(network)}/${prefix}`;

/**
 * Parses "a.b.c.d/n" or "x::/n"; throws CidrError saying what is wrong. An IPv4-mapped IPv6
 * network (within ::ffff:0:0/96) is returned as its IPv4 network, "::ffff:10.1.0.0/120" as
 * 10.1.0.0/24, so comparisons see through it (normaliseCidrList refuses it as input).
 */
export function parseCidr(text: string): Cidr {
  const m = text.length <= MAX_TEXT ? /^([^/\s]+)\/(\d{1,3})$/.exec(text) : null;
  if (!m) throw new CidrError(`"${shown(text)}" is not a CIDR (expected address/prefix, e.g. 10.1.0.0/24)`);
  const [, addr, p] = m as unknown as [string, string, string];
  const parsed = parseAddress(addr, text);
  let prefix = Number(p);
  if (parsed.mapped) {
    // Only a prefix that keeps the whole ::ffff:0:0/96 part is an IPv4 network in disguise.
    if (prefix < 96) throw new CidrError(`"${text}": an IPv4-mapped network needs a prefix of 96..128 (or write it as IPv4)`);
    if (prefix > 128) throw new CidrError(`"${text}": prefix must be 0..128`);
    prefix -= 96;
  }
  const { family, value } = parsed;
  const bits = family === 4 ? 32 : 128;
  if (prefix > bits) throw new CidrError(`"${text}": prefix must be 0..${bits}`);
  const network = value & maskOf(prefix, bits);
  const canonical = textOf(family, network, prefix);
  if (network !== value) throw new CidrError(`"${text}" is not a network address (did you mean ${canonical}?)`);
  return { family, network, prefix, text: canonical };
}

/** 0.0.0.0/0 or ::/0: every address of its family. */
export const isDefaultRoute = (c: Cidr): boolean => c.prefix === 0;

/** The network of `prefix` bits (capped at the family's width) that an address belongs to, e.g. an IPv6 client's /64. */
export function networkOf(ip: string, prefix: number): string {
  const { family, value } = parseAddress(ip, ip);
  const bits = family === 4 ? 32 : 128;
  const p = Math.min(prefix, bits);
  return textOf(family, value & maskOf(p, bits), p);
}

function range(cidr: Cidr): [bigint, bigint] {
  const bits = cidr.family === 4 ? 32 : 128;
  return [cidr.network, cidr.network + (1n << BigInt(bits - cidr.prefix)) - 1n];
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

/**
 * Parses a list an operator (or a cloud) gave, rejecting overlaps inside it; returns canonical
 * texts. IPv4-mapped IPv6 networks are refused with their IPv4 form: neither strongSwan selectors
 * nor route tables take them, and the operator should see what will be stored.
 */
export function normaliseCidrList(list: readonly string[]): string[] {
  const parsed = list.map((text) => {
    const c = parseCidr(text);
    if (c.family === 4 && text.includes(':')) throw new CidrError(`"${text}" is an IPv4-mapped IPv6 network; write it as ${c.text}`);
    return c;
  });
  for (let i = 0; i < parsed.length; i++)
    for (let j = i + 1; j < parsed.length; j++)
      if (overlaps(parsed[i]!, parsed[j]!)) throw new CidrError(`${parsed[i]!.text} and ${parsed[j]!.text} overlap`);
  return parsed.map((c) => c.text);
}
