// The change log: a row per change a viewer cares about (a gateway's or link's state, a new link
// event), written by database triggers (see the change_log migration), so no write path of the
// code knows about it. A process reads it through one ChangeFeed (change-feed.ts).
import { int, sql, text, type Conn } from './conn';
import { decodeEvent, type LinkEventRecord } from './events';

export type ChangeKind = 'gateway' | 'link' | 'link-event';

export interface ChangeRow {
  seq: number;
  kind: ChangeKind;
  /** The gateway's or the link's id (a link event's link). */
  entityId: string;
  /** The LinkEvent's id (kind link-event). */
  eventId: number | null;
}

/**
 * What a PostgreSQL read saw of transactions (pg_current_snapshot): every transaction id below
 * xmin had ended; every one from xmax on had not started.
 */
export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
}

export interface ChangeRecords {
  /** Rows after `cursor`, in order, at most `limit`; on PostgreSQL with the snapshot of that read. */
  after(cursor: number, limit: number): Promise<{ rows: ChangeRow[]; snapshot?: Snapshot }>;
  /** The newest row's seq (0 when empty), with the snapshot of that read on PostgreSQL. */
  latest(): Promise<{ seq: number; snapshot?: Snapshot }>;
  /** The oldest kept row's seq, undefined when the log is empty. */
  oldest(): Promise<number | undefined>;
  /** The current snapshot (PostgreSQL), undefined on SQLite. */
  snapshot(): Promise<Snapshot | undefined>;
  /** Deletes rows older than `keepMs` beyond the newest `keepRows`, and any beyond `maxRows`; how many. */
  prune(keep: { rows: number; ms: number; maxRows: number }): Promise<number>;
  /** Link events by id, with their link (an id whose event is gone is left out). */
  linkEvents(ids: readonly number[]): Promise<Array<LinkEventRecord & { linkId: string }>>;
}

const KINDS = new Set<string>(['gateway', 'link', 'link-event']);

function decodeChange(row: Record<string, unknown>): ChangeRow | undefined {
  const kind = text(row.kind);
  if (!KINDS.has(kind)) return undefined;
  return { seq: int(row.seq), kind: kind as ChangeKind, entityId: text(row.entityId), eventId: row.eventId === null || row.eventId === undefined ? null : int(row.eventId) };
}

function decodeSnapshot(row: Record<string, unknown>): Snapshot {
  return { xmin: BigInt(text(row.xmin)), xmax: BigInt(text(row.xmax)) };
}

export function changeRecords(conn: Conn): ChangeRecords {
  const pg = conn.kind === 'postgresql';
  return {
    async after(cursor, limit) {
      if (!pg) {
        const rows = await conn.rows<Record<string, unknown>>(sql`SELECT "seq", "kind", "entityId", "eventId" FROM "Change" WHERE "seq" > ${cursor} ORDER BY "seq" LIMIT ${limit}`);
        return { rows: rows.flatMap((row) => decodeChange(row) ?? []) };
      }
      // One statement, so the rows and the snapshot are the same read.
      const [row] = await conn.rows<Record<string, unknown>>(sql`
        SELECT (SELECT COALESCE(json_agg(c ORDER BY c."seq"), '[]'::json)::text
                  FROM (SELECT "seq", "kind", "entityId", "eventId" FROM "Change" WHERE "seq" > ${cursor} ORDER BY "seq" LIMIT ${limit}) c) AS rows,
               pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`);
      const rows = JSON.parse(text(row!.rows)) as Array<Record<string, unknown>>;
      return { rows: rows.flatMap((r) => decodeChange(r) ?? []), snapshot: decodeSnapshot(row!) };
    },

    async latest() {
      const [row] = await conn.rows<Record<string, unknown>>(
        pg
          ? sql`SELECT COALESCE(MAX("seq"), 0) AS seq, pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax FROM "Change"`
          : sql`SELECT COALESCE(MAX("seq"), 0) AS seq FROM "Change"`,
      );
      return { seq: int(row!.seq), ...(pg ? { snapshot: decodeSnapshot(row!) } : {}) };
    },

    async oldest() {
      const [row] = await conn.rows<Record<string, unknown>>(sql`SELECT MIN("seq") AS seq FROM "Change"`);
      return row?.seq === null || row?.seq === undefined ? undefined : int(row.seq);
    },

    async snapshot() {
      if (!pg) return undefined;
      const [row] = await conn.rows<Record<string, unknown>>(sql`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`);
      return decodeSnapshot(row!);
    },

    async prune(keep) {
      const seconds = Math.ceil(keep.ms / 1000);
      // The triggers leave "at" to its default, so it compares with the database's own clock.
      const older = pg ? sql`"at" < CURRENT_TIMESTAMP - make_interval(secs => ${seconds})` : sql`"at" < datetime('now', ${`-${seconds} seconds`})`;
      return conn.execute(sql`
        DELETE FROM "Change"
         WHERE ("seq" <= (SELECT MAX("seq") FROM "Change") - ${keep.rows} AND ${older})
            OR "seq" <= (SELECT MAX("seq") FROM "Change") - ${keep.maxRows}`);
    },

    async linkEvents(ids) {
      if (ids.length === 0) return [];
      const list = JSON.stringify([...new Set(ids)]);
      const rows = await conn.rows<Record<string, unknown>>(
        pg
          ? sql`SELECT "id", "linkId", "at", "type", "message", "data" FROM "LinkEvent" WHERE "id" IN (SELECT json_array_elements_text(${list}::json)::int) ORDER BY "id"`
          : sql`SELECT "id", "linkId", "at", "type", "message", "data" FROM "LinkEvent" WHERE "id" IN (SELECT "value" FROM json_each(${list})) ORDER BY "id"`,
      );
      return rows.map((row) => ({ ...decodeEvent(row), linkId: text(row.linkId) }));
    },
  };
}
