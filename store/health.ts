// The latest data-plane figures per link end (table LinkHealth). The hub writes them in batches,
// at most one row write per link end and flush; the API reads them beside the links.
import { bool, date, int, join, optionalDate, optionalText, raw, sql, text, type Conn, type Sql } from './conn';

export type LinkEnd = 'a' | 'b';

export interface LinkHealthRecord {
  linkId: string;
  gatewayId: string;
  end: LinkEnd;
  installed: boolean;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  lastInAt: Date | null;
  lastOutAt: Date | null;
  establishedAt: Date | null;
  rekeyAt: Date | null;
  innerAddr: string | null;
  rttP50Ms: number | null;
  probesSent: number;
  probesAnswered: number;
  probeFailStreak: number | null;
  measuredAt: Date;
}

export interface HealthStore {
  /** Writes each record over the previous one of its link end, in one transaction. */
  putMany(records: readonly LinkHealthRecord[]): Promise<void>;
  /** The records of these links (both ends when both reported). */
  forLinks(linkIds: readonly string[]): Promise<LinkHealthRecord[]>;
}

/** Rows per INSERT … VALUES (SQLite): 18 parameters each stays far below its 32,766. */
const ROWS_PER_STATEMENT = 500;
/**
 * Rows per INSERT … SELECT FROM json_to_recordset (PostgreSQL): one parameter per statement. At
 * 18,000 agents (bench:hub) a parameter per value cost the controller ~60 µs per row in the
 * driver; one JSON text per 2,000 rows costs a third of that.
 */
const JSON_ROWS_PER_STATEMENT = 2000;
const COLUMNS = ['linkId', 'gatewayId', 'end', 'installed', 'bytesIn', 'bytesOut', 'packetsIn', 'packetsOut', 'lastInAt', 'lastOutAt', 'establishedAt', 'rekeyAt', 'innerAddr', 'rttP50Ms', 'probesSent', 'probesAnswered', 'probeFailStreak', 'measuredAt'] as const;
const columnList = raw(COLUMNS.map((column) => `"${column}"`).join(', '));
const updates = raw(
  COLUMNS.filter((column) => column !== 'linkId' && column !== 'gatewayId')
    .map((column) => `"${column}" = excluded."${column}"`)
    .join(', '),
);

const valuesRow = (r: LinkHealthRecord): Sql =>
  sql`(${r.linkId}, ${r.gatewayId}, ${r.end}, ${r.installed}, ${BigInt(Math.trunc(r.bytesIn))}, ${BigInt(Math.trunc(r.bytesOut))}, ${BigInt(Math.trunc(r.packetsIn))}, ${BigInt(Math.trunc(r.packetsOut))}, ${r.lastInAt}, ${r.lastOutAt}, ${r.establishedAt}, ${r.rekeyAt}, ${r.innerAddr}, ${r.rttP50Ms}, ${r.probesSent}, ${r.probesAnswered}, ${r.probeFailStreak}, ${r.measuredAt})`;

/** PostgreSQL: the rows as one JSON parameter. Times as ISO text: timestamp(3) keeps Prisma's UTC wall-clock convention (see presence.ts). */
function jsonRows(records: readonly LinkHealthRecord[]): Sql {
  const iso = (at: Date | null) => (at ? at.toISOString() : null);
  const rows = records.map((r) => ({
    ...r,
    bytesIn: Math.trunc(r.bytesIn),
    bytesOut: Math.trunc(r.bytesOut),
    packetsIn: Math.trunc(r.packetsIn),
    packetsOut: Math.trunc(r.packetsOut),
    lastInAt: iso(r.lastInAt),
    lastOutAt: iso(r.lastOutAt),
    establishedAt: iso(r.establishedAt),
    rekeyAt: iso(r.rekeyAt),
    measuredAt: iso(r.measuredAt),
  }));
  return sql`SELECT ${columnList} FROM json_to_recordset(${JSON.stringify(rows)}::json) AS v("linkId" text, "gatewayId" text, "end" text, "installed" boolean, "bytesIn" bigint, "bytesOut" bigint, "packetsIn" bigint, "packetsOut" bigint, "lastInAt" timestamp(3), "lastOutAt" timestamp(3), "establishedAt" timestamp(3), "rekeyAt" timestamp(3), "innerAddr" text, "rttP50Ms" double precision, "probesSent" integer, "probesAnswered" integer, "probeFailStreak" integer, "measuredAt" timestamp(3))`;
}

/** Rows one LinkHealth upsert statement carries on this database (putMany writes ⌈rows / this⌉ statements). */
export const healthRowsPerStatement = (kind: Conn['kind']): number => (kind === 'postgresql' ? JSON_ROWS_PER_STATEMENT : ROWS_PER_STATEMENT);

export function healthStore(conn: Conn): HealthStore {
  return {
    // One upsert statement per 2,000 link ends (PostgreSQL) or 500 (SQLite), raw SQL: the model
    // API's per-row upserts in a transaction cost most of a hub's CPU at thousands of links.
    async putMany(records) {
      // A statement may not touch one row twice (PostgreSQL refuses): the latest record per end wins.
      const latest = [...new Map(records.map((r) => [`${r.linkId}\u0000${r.gatewayId}`, r])).values()];
      const statements: Sql[] = [];
      const rowsPer = healthRowsPerStatement(conn.kind);
      for (let i = 0; i < latest.length; i += rowsPer) {
        const chunk = latest.slice(i, i + rowsPer);
        const source = conn.kind === 'postgresql' ? jsonRows(chunk) : sql`VALUES ${join(chunk.map(valuesRow))}`;
        statements.push(sql`INSERT INTO "LinkHealth" (${columnList}) ${source} ON CONFLICT ("linkId", "gatewayId") DO UPDATE SET ${updates}`);
      }
      await conn.batch(statements);
    },

    async forLinks(linkIds) {
      if (linkIds.length === 0) return [];
      const rows = await conn.rows<Record<string, unknown>>(sql`SELECT ${columnList} FROM "LinkHealth" WHERE "linkId" IN (${join([...new Set(linkIds)])})`);
      return rows.map(decodeHealth);
    },
  };
}

function decodeHealth(row: Record<string, unknown>): LinkHealthRecord {
  const optionalNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return {
    linkId: text(row.linkId),
    gatewayId: text(row.gatewayId),
    end: row.end === 'b' ? 'b' : 'a',
    installed: bool(row.installed),
    bytesIn: int(row.bytesIn),
    bytesOut: int(row.bytesOut),
    packetsIn: int(row.packetsIn),
    packetsOut: int(row.packetsOut),
    lastInAt: optionalDate(row.lastInAt),
    lastOutAt: optionalDate(row.lastOutAt),
    establishedAt: optionalDate(row.establishedAt),
    rekeyAt: optionalDate(row.rekeyAt),
    innerAddr: optionalText(row.innerAddr),
    rttP50Ms: optionalNumber(row.rttP50Ms),
    probesSent: int(row.probesSent),
    probesAnswered: int(row.probesAnswered),
    probeFailStreak: optionalNumber(row.probeFailStreak),
    measuredAt: date(row.measuredAt),
  };
}
