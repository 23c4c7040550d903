// PresenceStore over the controller database (and enrolment, which sets the secret the hub checks).
// Lookups and presence writes are batched (see Batcher): after a controller restart every agent
// dials at once, and one query and one commit per agent would queue thousands of statements behind
// a 10-connection pool and a disk that takes tens of milliseconds per fsync, until agents time out
// and retry, which only adds to the queue.
import type { Db } from '../db';
import type { GatewayId } from '../protocol/ids';
import { Batcher } from './batcher';
import { GatewayGoneError, type PresenceStore } from './presence';
import { pgPresenceWriter, prismaPresenceWriter, type PresenceWrite } from './presence-writes';

/** Set on every generated client; absent or different means "use the portable path". */
const isPostgres = (db: Db): boolean => (db as unknown as { _activeProvider?: unknown })._activeProvider === 'postgresql';

const SECRET_HASHES_SQL = `SELECT "id", "secretHash" FROM "Gateway" WHERE "id" IN (SELECT json_array_elements_text($1::json))`;

export function dbPresenceStore(db: Db): PresenceStore {
  const pg = isPostgres(db);
  // Reads may overlap; a few in flight keep the pool busy without starving other users of the database.
  const lookups = new Batcher<GatewayId, string | undefined>(
    async (ids) => {
      const unique = [...new Set(ids)];
      // Prisma runs every query and its arguments through its query compiler; a list of a thousand
      // ids as one JSON string costs a fraction of the same list as a thousand parameters.
      const rows = pg
        ? await db.$queryRawUnsafe<Array<{ id: string; secretHash: string }>>(SECRET_HASHES_SQL, JSON.stringify(unique))
        : await db.gateway.findMany({ where: { id: { in: unique } }, select: { id: true, secretHash: true } });
      const byId = new Map(rows.map((r) => [r.id, r.secretHash]));
      return ids.map((id) => byId.get(id));
    },
    { maxBatch: 1000, concurrency: 3 },
  );
  // One batch in flight, each batch one transaction: writes apply in submission order (an agent
  // that drops and reconnects ends with the state of its last event), batches never contend for
  // the same rows, and a batch is all durable or all reported failed, so no hello is acknowledged
  // that was not recorded. A PostgreSQL batch is a fixed handful of statements whatever its size;
  // the portable path runs a statement per write, so its batches stay well inside Prisma's
  // transaction timeout.
  const writes = pg
    ? new Batcher<PresenceWrite, boolean>(pgPresenceWriter(db), { maxBatch: 2000, concurrency: 1 })
    : new Batcher<PresenceWrite, boolean>(prismaPresenceWriter(db), { maxBatch: 200, concurrency: 1 });

  return {
    secretHash: (gatewayId) => lookups.submit(gatewayId),
    async markOnline(gatewayId, p) {
      const found = await writes.submit({ kind: 'online', gatewayId, ...p });
      // A gateway deleted while its agent connected fails its own hello, not the whole batch.
      if (!found) throw new GatewayGoneError(`gateway ${gatewayId} no longer exists`);
    },
    async markOffline(gatewayId, instance, at) {
      await writes.submit({ kind: 'offline', gatewayId, instance, at });
    },
    async touch(gatewayIds, instance, at) {
      await writes.submit({ kind: 'touch', gatewayIds, instance, at });
    },
    redeemEnrolment: (gatewayId, tokenHash, newSecretHash, now) =>
      db.$transaction(async (tx) => {
        // The conditional update claims the token: of two concurrent redemptions only one matches
        // an unused row (PostgreSQL re-checks the condition after the row lock; SQLite serialises).
        const claimed = await tx.enrolmentToken.updateMany({ where: { gatewayId, tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
        if (claimed.count !== 1) return false;
        await tx.gateway.update({ where: { id: gatewayId }, data: { secretHash: newSecretHash } });
        return true;
      }),
  };
}
