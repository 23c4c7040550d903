// Applying a batch of presence writes in one transaction: as a few set-based statements on
// PostgreSQL (the production store), or statement by statement through Prisma elsewhere.
import type { Db } from '../db';
import type { Facts } from '../protocol/messages';
import type { GatewayId } from '../protocol/ids';

export type PresenceWrite =
  | { kind: 'online'; gatewayId: GatewayId; observedIp: string | undefined; facts: Facts; instance: string; at: Date }
  | { kind: 'offline'; gatewayId: GatewayId; instance: string; at: Date }
  | { kind: 'touch'; gatewayIds: readonly GatewayId[]; instance: string; at: Date };

/** Answers each write in order: for `online`, whether the gateway row exists; otherwise true. */
export type PresenceWriter = (writes: PresenceWrite[]) => Promise<boolean[]>;

// Each batch travels as one JSON text parameter: Prisma hands raw parameters through its query
// compiler, where one string costs a fraction of what arrays of thousands of elements cost.
// Timestamps are ISO text cast to timestamp(3), the column type Prisma uses, which keeps Prisma's
// convention of UTC wall-clock time whatever the session's TimeZone.

// A full presence row: from an online write, possibly turned offline by a later write of the same
// instance in the same batch.
const SET_SQL = `
  UPDATE "Gateway" AS g
     SET "online" = v.online, "lastSeenAt" = v.at, "observedIp" = v.ip, "facts" = v.facts, "hubInstance" = v.inst, "updatedAt" = v.at
    FROM json_to_recordset($1::json) AS v(id text, online boolean, at timestamp(3), ip text, facts text, inst text)
   WHERE g."id" = v.id
  RETURNING g."id"`;

// Conditional on the instance: if the agent already reconnected to another controller, keep that.
const OFFLINE_SQL = `
  UPDATE "Gateway" AS g
     SET "online" = false, "lastSeenAt" = v.at, "updatedAt" = v.at
    FROM json_to_recordset($1::json) AS v(id text, at timestamp(3), inst text)
   WHERE g."id" = v.id AND g."hubInstance" = v.inst`;

const TOUCH_SQL = `
  UPDATE "Gateway" SET "lastSeenAt" = $2::timestamp(3)
   WHERE "id" IN (SELECT json_array_elements_text($1::json)) AND "hubInstance" = $3`;

interface SetRow {
  id: GatewayId;
  online: boolean;
  at: string;
  ip: string | null;
  facts: string;
  inst: string;
}
interface OfflineRow {
  id: GatewayId;
  at: string;
  inst: string;
}

export function pgPresenceWriter(db: Db): PresenceWriter {
  return async (writes) => {
    // One UPDATE ... FROM applies at most one change per row, so the batch is first reduced to each
    // gateway's net effect, which is what applying its writes one after another would leave: an
    // online write replaces the whole row, and an offline write either acts on a row this batch
    // already set (same instance: now offline; other instance: no effect) or stays conditional.
    const sets = new Map<GatewayId, SetRow>();
    const offlines = new Map<GatewayId, Map<string, OfflineRow>>();
    const touches: Array<Extract<PresenceWrite, { kind: 'touch' }>> = [];
    for (const w of writes) {
      if (w.kind === 'touch') {
        touches.push(w);
      } else if (w.kind === 'online') {
        sets.set(w.gatewayId, { id: w.gatewayId, online: true, at: w.at.toISOString(), ip: w.observedIp ?? null, facts: JSON.stringify(w.facts), inst: w.instance });
        offlines.delete(w.gatewayId);
      } else {
        const set = sets.get(w.gatewayId);
        if (set) {
          if (set.inst === w.instance) Object.assign(set, { online: false, at: w.at.toISOString() });
        } else {
          // Conditional writes for different instances: at most one can match the row.
          const byInstance = offlines.get(w.gatewayId) ?? new Map<string, OfflineRow>();
          byInstance.set(w.instance, { id: w.gatewayId, at: w.at.toISOString(), inst: w.instance });
          offlines.set(w.gatewayId, byInstance);
        }
      }
    }
    // Touches first: they only refresh last-seen, and the state changes of this batch are newer.
    const statements: Array<ReturnType<Db['$queryRawUnsafe']>> = touches.map((t) => db.$executeRawUnsafe(TOUCH_SQL, JSON.stringify(t.gatewayIds), t.at.toISOString(), t.instance));
    const offlineRows = [...offlines.values()].flatMap((m) => [...m.values()]);
    if (offlineRows.length > 0) statements.push(db.$executeRawUnsafe(OFFLINE_SQL, JSON.stringify(offlineRows)));
    if (sets.size > 0) statements.push(db.$queryRawUnsafe(SET_SQL, JSON.stringify([...sets.values()])));
    if (statements.length === 0) return writes.map(() => true);
    const results = await db.$transaction(statements);
    const found = new Set(sets.size > 0 ? (results.at(-1) as Array<{ id: string }>).map((r) => r.id) : []);
    return writes.map((w) => w.kind !== 'online' || found.has(w.gatewayId));
  };
}

/** Portable path (SQLite): the same writes, one Prisma statement each, in order, in one transaction. */
export function prismaPresenceWriter(db: Db): PresenceWriter {
  return async (writes) => {
    const statements = writes.flatMap((w) => {
      switch (w.kind) {
        case 'online':
          return [
            db.gateway.updateMany({
              where: { id: w.gatewayId },
              data: { online: true, lastSeenAt: w.at, observedIp: w.observedIp ?? null, facts: JSON.stringify(w.facts), hubInstance: w.instance },
            }),
          ];
        case 'offline':
          return [db.gateway.updateMany({ where: { id: w.gatewayId, hubInstance: w.instance }, data: { online: false, lastSeenAt: w.at } })];
        case 'touch': {
          // Chunked so a large fleet does not hit SQL parameter limits.
          const chunks = [];
          for (let i = 0; i < w.gatewayIds.length; i += 500) {
            chunks.push(db.gateway.updateMany({ where: { id: { in: w.gatewayIds.slice(i, i + 500) }, hubInstance: w.instance }, data: { lastSeenAt: w.at } }));
          }
          return chunks;
        }
      }
    });
    const counts = (await db.$transaction(statements)).map((r) => r.count);
    let k = 0;
    return writes.map((w) => {
      if (w.kind === 'touch') {
        k += Math.ceil(w.gatewayIds.length / 500);
        return true;
      }
      const count = counts[k++]!;
      return w.kind !== 'online' || count > 0;
    });
  };
}
