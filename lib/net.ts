// Small address helpers shared by the controller's listeners and the agent.
import { isIP } from 'node:net';
import { networkOf } from './cidr';

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports ("::ffff:198.51.100.1" → "198.51.100.1"). */
export function normaliseIp(ip: string | undefined): string | undefined {
  return ip?.toLowerCase().startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** "host:port" for a URL: IPv6 in brackets, the wildcard addresses shown as loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * What per-client limits count by: one IPv4 address, or one IPv6 /64, since whoever holds an IPv6
 * address usually holds its whole /64 and could otherwise rotate through it.
 */
export function limitKey(remoteAddress: string | undefined): string {
  const ip = normaliseIp(remoteAddress)?.split('%')[0]; // a zone id names an interface, not a client
  if (!ip || isIP(ip) === 0) return 'unknown';
  return isIP(ip) === 6 ? networkOf(ip, 64) : ip;
}
