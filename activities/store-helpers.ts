// Small helpers over stored rows, shared by activities, the API and the hub wiring.
import type { Db } from '../db';
import type { Link } from '../generated/prisma/client';

/** The live (not deleted) links of some gateways, but `exceptLink`, in one read. */
export function liveLinksOf(db: Pick<Db, 'link'>, gatewayIds: string[], exceptLink?: string): Promise<Link[]> {
  return db.link.findMany({ where: { deletedAt: null, OR: [{ aId: { in: gatewayIds } }, { bId: { in: gatewayIds } }], ...(exceptLink ? { NOT: { id: exceptLink } } : {}) } });
}

/**
 * The address peers should dial: what the agent reports (its PUBLIC_IP, or the cloud's metadata
 * service, which follows an EIP that moves), else the operator's, else the source address the hub
 * observed. The operator's address wins over the observed one: the hub may see an outbound NAT or
 * a proxy, not the address IKE reaches.
 */
export function gatewayEndpoint(g: { publicIp: string | null; facts: string | null; observedIp: string | null }): string | undefined {
  const reported = g.facts ? (JSON.parse(g.facts) as { publicIp?: unknown }).publicIp : undefined;
  if (typeof reported === 'string' && reported) return reported;
  if (g.publicIp) return g.publicIp;
  return g.observedIp ?? undefined;
}

export function parseJsonList(s: string): string[] {
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v.map(String) : [];
}

/** Presence is only believed while it is being refreshed; a crashed controller cannot clear it. */
export function isFresh(lastSeenAt: Date | null, now: Date, ttlMs: number): boolean {
  return !!lastSeenAt && now.getTime() - lastSeenAt.getTime() <= ttlMs;
}
