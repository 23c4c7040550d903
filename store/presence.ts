// The presence part of the gateways aggregate, as the hub writes it: agents' secret hashes, which
// controller holds each agent's socket and since when, and enrolment-token redemption. Writes
// come in batches (the hub batches them, see gateway-hub/db-presence.ts) and apply in one
// transaction: a few set-based statements on PostgreSQL, a statement per write on SQLite.
import type { Facts } from '../protocol/messages';
import type { GatewayId } from '../protocol/ids';
import { text, sql, type Conn, type Sql } from './conn';

export type PresenceWrite =
  | { kind: 'online'; gatewayId: GatewayId; observedIp: string | undefined; facts: Facts; instance: string; at: Date }
  | { kind: 'offline'; gatewayId: GatewayId; instance: string; at: Date }
  | { kind: 'touch'; gatewayIds: readonly GatewayId[]; instance: string; at: Date };

export interface PresenceRecords {
  /** The stored secret hash of each gateway (undefined for an unknown one), in the order asked. */
  secretHashes(gatewayIds: readonly GatewayId[]): Promise<Array<string | undefined>>;
  /** Applies writes in order, in one transaction; per write: for `online`, whether the gateway exists, otherwise true. */
  apply(writes: PresenceWrite[]): Promise<boolean[]>;
  /** How many writes one `apply` should carry at most on this database. */
  readonly writeBatchLimit: number;
  /**
   * Spends an unused, unexpired enrolment token of the gateway and stores the agent's new secret
   * hash, in one transaction; false when the token cannot be redeemed.
   */
  redeemEnrolment(gatewayId: GatewayId, tokenHash: string, newSecretHash: string, now: Date): Promise<boolean>;
}

/** Presence is only believed while it is being refreshed; a crashed controller cannot clear it. */
export function isFresh(lastSeenAt: Date | null, now: Date, ttlMs: number): boolean {
  return !!lastSeenAt && now.getTime() - lastSeenAt.getTime() <= ttlMs;
}

// Lists travel as one JSON text parameter: Prisma hands every parameter through its query
// compiler, where one string costs a fraction of what thousands of parameters cost. PostgreSQL
// reads it with json_* functions, SQLite with json_each. PostgreSQL timestamps are ISO text cast
// to timestamp(3), the column type Prisma uses, which keeps Prisma's convention of UTC wall-clock
// time whatever the session's TimeZone.

export function presenceRecords(conn: Conn): PresenceRecords {
  const pg = conn.kind === 'postgresql';
  return {
    async secretHashes(gatewayIds) {
      const ids = JSON.stringify([...new Set(gatewayIds)]);
      const rows = await conn.rows<Record<string, unknown>>(
        pg
          ? sql`SELECT "id", "secretHash" FROM "Gateway" WHERE "id" IN (SELECT json_array_elements_text(${ids}::json))`
          : sql`SELECT "id", "secretHash" FROM "Gateway" WHERE "id" IN (SELECT "value" FROM json_each(${ids}))`,
      );
      const byId = new Map(rows.map((row) => [text(row.id), text(row.secretHash)]));
      return gatewayIds.map((id) => byId.get(id));
    },

    apply: (writes) => (pg ? applyPg(conn, writes) : applyEach(conn, writes)),

    writeBatchLimit: pg ? 2000 : 200,

    redeemEnrolment: (gatewayId, tokenHash, newSecretHash, now) =>
      conn.atomically(async (inner) => {
        // The conditional update claims the token: of two concurrent redemptions only one matches
        // an unused row (PostgreSQL re-checks the condition after the row lock; SQLite serialises).
        const claimed = await inner.prisma.enrolmentToken.updateMany({ where: { gatewayId, tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
        if (claimed.count !== 1) return false;
        await inner.prisma.gateway.update({ where: { id: gatewayId }, data: { secretHash: newSecretHash } });
        return true;
      }),
  };
}

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

/**
 * PostgreSQL: one UPDATE ... FROM applies at most one change per row, so the batch is first
 * reduced to each gateway's net effect, which is what applying its writes one after another would
 * leave: an online write replaces the whole row, and an offline write either acts on a row this
 * batch already set (same instance: now offline; other instance: no effect) or stays conditional.
 */
async function applyPg(conn: Conn, writes: PresenceWrite[]): Promise<boolean[]> {
  const sets = new Map<GatewayId, SetRow>();
  const offlines = new Map<GatewayId, Map<string, OfflineRow>>();
  const touches: Array<Extract<PresenceWrite, { kind: 'touch' }>> = [];
  for (const write of writes) {
    if (write.kind === 'touch') {
      touches.push(write);
    } else if (write.kind === 'online') {
      sets.set(write.gatewayId, { id: write.gatewayId, online: true, at: write.at.toISOString(), ip: write.observedIp ?? null, facts: JSON.stringify(write.facts), inst: write.instance });
      offlines.delete(write.gatewayId);
    } else {
      const set = sets.get(write.gatewayId);
      if (set) {
        if (set.inst === write.instance) Object.assign(set, { online: false, at: write.at.toISOString() });
      } else {
        // Conditional writes for different instances: at most one can match the row.
        const byInstance = offlines.get(write.gatewayId) ?? new Map<string, OfflineRow>();
        byInstance.set(write.instance, { id: write.gatewayId, at: write.at.toISOString(), inst: write.instance });
        offlines.set(write.gatewayId, byInstance);
      }
    }
  }
  // Touches first: they only refresh last-seen, and the state changes of this batch are newer.
  const statements: Sql[] = touches.map(
    (touch) => sql`UPDATE "Gateway" SET "lastSeenAt" = ${touch.at.toISOString()}::timestamp(3)
                    WHERE "id" IN (SELECT json_array_elements_text(${JSON.stringify(touch.gatewayIds)}::json)) AND "hubInstance" = ${touch.instance}`,
  );
  const offlineRows = [...offlines.values()].flatMap((byInstance) => [...byInstance.values()]);
  if (offlineRows.length > 0) {
    // Conditional on the instance: if the agent already reconnected to another controller, keep that.
    statements.push(sql`
      UPDATE "Gateway" AS g
         SET "online" = false, "lastSeenAt" = v.at, "updatedAt" = v.at
        FROM json_to_recordset(${JSON.stringify(offlineRows)}::json) AS v(id text, at timestamp(3), inst text)
       WHERE g."id" = v.id AND g."hubInstance" = v.inst`);
  }
  if (sets.size === 0) {
    await conn.batch(statements);
    return writes.map(() => true);
  }
  // A full presence row: from an online write, possibly turned offline by a later write of the
  // same instance in the same batch. Its RETURNING says which gateways exist.
  const setRows = sql`
    UPDATE "Gateway" AS g
       SET "online" = v.online, "lastSeenAt" = v.at, "observedIp" = v.ip, "facts" = v.facts, "hubInstance" = v.inst, "updatedAt" = v.at
      FROM json_to_recordset(${JSON.stringify([...sets.values()])}::json) AS v(id text, online boolean, at timestamp(3), ip text, facts text, inst text)
     WHERE g."id" = v.id
    RETURNING g."id"`;
  const found = await conn.atomically(async (inner) => {
    await inner.batch(statements);
    return new Set((await inner.rows<Record<string, unknown>>(setRows)).map((row) => text(row.id)));
  });
  return writes.map((write) => write.kind !== 'online' || found.has(write.gatewayId));
}

/** SQLite: the same writes, one statement each, in order, in one transaction. */
async function applyEach(conn: Conn, writes: PresenceWrite[]): Promise<boolean[]> {
  const statements = writes.map((write) => {
    switch (write.kind) {
      case 'online':
        return sql`UPDATE "Gateway" SET "online" = ${true}, "lastSeenAt" = ${write.at}, "observedIp" = ${write.observedIp ?? null}, "facts" = ${JSON.stringify(write.facts)}, "hubInstance" = ${write.instance}, "updatedAt" = ${write.at}
                    WHERE "id" = ${write.gatewayId}`;
      case 'offline':
        return sql`UPDATE "Gateway" SET "online" = ${false}, "lastSeenAt" = ${write.at}, "updatedAt" = ${write.at} WHERE "id" = ${write.gatewayId} AND "hubInstance" = ${write.instance}`;
      case 'touch':
        return sql`UPDATE "Gateway" SET "lastSeenAt" = ${write.at}, "updatedAt" = ${write.at}
                    WHERE "id" IN (SELECT "value" FROM json_each(${JSON.stringify(write.gatewayIds)})) AND "hubInstance" = ${write.instance}`;
    }
  });
  const counts = await conn.batch(statements);
  return writes.map((write, index) => write.kind !== 'online' || counts[index]! > 0);
}
