// Small helpers over stored rows, shared by activities, the API and the hub wiring.
import { isIP } from 'node:net';
import type { Db } from '../db';
import type { Link } from '../generated/prisma/client';

/** The live (not deleted) links of some gateways, but `exceptLink`, in one read. */
export function liveLinksOf(db: Pick<Db, 'link'>, gatewayIds: string[], exceptLink?: string): Promise<Link[]> {
  return db.link.findMany({ where: { deletedAt: null, OR: [{ aId: { in: gatewayIds } }, { bId: { in: gatewayIds } }], ...(exceptLink ? { NOT: { id: exceptLink } } : {}) } });
}

/**
 * The address peers should dial: the operator's (for a cloud gateway, the address discovery
 * confirmed), else what the agent reports (its PUBLIC_IP, or the cloud metadata service), else the
 * source address the hub observed. The operator's address wins: an agent is trusted only about its
 * own tunnels (DESIGN §5), so what it reports never overrides what the operator registered.
 * Reported addresses were validated as IP addresses when they arrived; checked again here because
 * stored facts may predate that.
 */
export function gatewayEndpoint(g: { publicIp: string | null; facts: string | null; observedIp: string | null }): string | undefined {
  if (g.publicIp) return g.publicIp;
  const reported = reportedPublicIp(g.facts);
  if (reported) return reported;
  return g.observedIp ?? undefined;
}

function reportedPublicIp(facts: string | null): string | undefined {
  if (!facts) return undefined;
  try {
    const ip = (JSON.parse(facts) as { publicIp?: unknown }).publicIp;
    return typeof ip === 'string' && isIP(ip) !== 0 ? ip : undefined;
  } catch {
    return undefined;
  }
}

export function parseJsonList(s: string): string[] {
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v.map(String) : [];
}

/** Presence is only believed while it is being refreshed; a crashed controller cannot clear it. */
export function isFresh(lastSeenAt: Date | null, now: Date, ttlMs: number): boolean {
  return !!lastSeenAt && now.getTime() - lastSeenAt.getTime() <= ttlMs;
}
