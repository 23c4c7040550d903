// DNS-rebinding guard: a page on another site can make a browser send requests to a loopback API
// under the attacker's host name, so the API answers only Host names it was told are its own.
import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { forbidden } from '../lib/errors';

/** Lower case, no brackets or trailing dot, IPv6 in its canonical (RFC 5952) form. */
function canonicalName(name: string): string {
  const bare = name.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (isIP(bare) !== 6 || bare.includes('%')) return bare;
  // The URL parser writes IPv6 hosts the way browsers send them ("[0:0::1]" → "[::1]").
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
}

/**
 * The name in a Host header: "name", "name:port", "[v6]" or "[v6]:port"; undefined when it is none
 * of those (an unbracketed IPv6 address, userinfo, two ports, an empty header).
 */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/.exec(header);
  if (!m) return undefined;
  const name = m[1]!;
  if (name.startsWith('[') && isIP(name.slice(1, -1)) !== 6) return undefined;
  return canonicalName(name);
}

/** A list entry: a name or an address, bracketed or not, a port ignored ("example.com:8443" means example.com). */
function listedName(entry: string): string {
  const text = entry.trim();
  return isIP(text) === 6 ? canonicalName(text) : (hostName(text) ?? canonicalName(text));
}

/** Undefined list or "*" in it: no check (the operator opened the API to any name). */
export function hostGuard(allowedHosts: readonly string[] | undefined) {
  if (!allowedHosts || allowedHosts.includes('*')) return (_req: Request, _res: Response, next: NextFunction) => next();
  const allowed = new Set(allowedHosts.map(listedName));
  return (req: Request, _res: Response, next: NextFunction): void => {
    const name = hostName(req.headers.host);
    if (name !== undefined && allowed.has(name)) return next();
    const given = req.headers.host ? `"${req.headers.host.length > 80 ? `${req.headers.host.slice(0, 80)}…` : req.headers.host}"` : 'none';
    next(forbidden(`requests addressed to host ${given} are not answered: add the name clients use to API_ALLOWED_HOSTS`));
  };
}
