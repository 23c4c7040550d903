// Small helpers over stored rows, shared by activities, the API and the hub wiring.
import type { Db } from '../db';
import type { Link } from '../generated/prisma/client';

/** The live (not deleted) links of some gateways, but `exceptLink`, in one read. */
export function liveLinksOf(db: Pick<Db, 'link'>, gatewayIds: string[], exceptLink?: string): Promise<Link[]> {
  return db.link.findMany({ where: { deletedAt: null, OR: [{ aId: { in: gatewayIds } }, { bId: { in: gatewayIds } }], ...(exceptLink ? { NOT: { id: exceptLink } } : {}) } });
}

export function parseJsonList(s: string): string[] {
  const v: unknown = JSON.parse(s);
  return Array.isArray(v) ? v.map(String) : [];
}

/** Presence is only believed while it is being refreshed; a crashed controller cannot clear it. */
export function isFresh(lastSeenAt: Date | null, now: Date, ttlMs: number): boolean {
  return !!lastSeenAt && now.getTime() - lastSeenAt.getTime() <= ttlMs;
}
