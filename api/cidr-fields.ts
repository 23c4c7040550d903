// CIDR list fields of request bodies: parsed and canonicalised by zod (a bad entry is a 400 naming
// its field), and a default route accepted only when the operator says so.
import { z } from 'zod';
import { CidrError, isDefaultRoute, normaliseCidrList, parseCidr } from '../lib/cidr';
import { invalid } from '../lib/errors';

/** Canonical CIDR texts, no overlaps within the list; "::ffff:10.1.0.0/120" becomes "10.1.0.0/24". */
export const cidrList = z
  .array(z.string().max(64, { error: 'not a CIDR (too long)' }), { error: 'expected an array of CIDR strings' })
  .min(1, { error: 'at least one CIDR is required' })
  .max(64)
  .transform((list, ctx) => {
    try {
      return normaliseCidrList(list);
    } catch (err) {
      if (!(err instanceof CidrError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });

/** The flag that lets 0.0.0.0/0 or ::/0 in. */
export const allowDefaultRoute = z.boolean({ error: 'expected true or false' }).optional();

/**
 * 0.0.0.0/0 or ::/0 as a site's network sends all of its traffic (or all its peer's) into one
 * tunnel: a typing slip with a large blast radius, so it needs `allowDefaultRoute: true`.
 */
export function refuseDefaultRoute(field: string, cidrs: readonly string[] | undefined, allowed: boolean | undefined): void {
  if (allowed === true || !cidrs) return;
  const route = cidrs.find((c) => isDefaultRoute(parseCidr(c)));
  if (!route) return;
  const message = `${route} is a default route: it would send all traffic of its family through the tunnel; to mean it, also send "allowDefaultRoute": true`;
  throw invalid(`invalid request: ${field}: ${message}`, { fields: [{ field, message }] });
}
