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

/** Rows per INSERT: 18 values each stays far below PostgreSQL's 65,535 parameters and SQLite's 32,766. */
const ROWS_PER_STATEMENT = 500;
const COLUMNS = ['linkId', 'gatewayId', 'end', 'installed', 'bytesIn', 'bytesOut', 'packetsIn', 'packetsOut', 'lastInAt', 'lastOutAt', 'establishedAt', 'rekeyAt', 'innerAddr', 'rttP50Ms', 'probesSent', 'probesAnswered', 'probeFailStreak', 'measuredAt'] as const;
const columnList = raw(COLUMNS.map((column) => `"${column}"`).join(', '));
const updates = raw(
  COLUMNS.filter((column) => column !== 'linkId' && column !== 'gatewayId')
    .map((column) => `"${column}" = excluded."${column}"`)
    .join(', '),
);

export function healthStore(conn: Conn): HealthStore {
  return {
    // One upsert statement per 500 link ends (raw SQL: the model API's per-row upserts in a
    // transaction cost most of a hub's CPU at thousands of links, docs/decisions.md "Few tasks per link").
    async putMany(records) {
      // A statement may not touch one row twice (PostgreSQL refuses): the latest record per end wins.
      const latest = [...new Map(records.map((r) => [`${r.linkId}\u0000${r.gatewayId}`, r])).values()];
      const statements: Sql[] = [];
      for (let i = 0; i < latest.length; i += ROWS_PER_STATEMENT) {
        const rows = latest.slice(i, i + ROWS_PER_STATEMENT).map(
          (r) =>
            sql`(${r.linkId}, ${r.gatewayId}, ${r.end}, ${r.installed}, ${BigInt(Math.trunc(r.bytesIn))}, ${BigInt(Math.trunc(r.bytesOut))}, ${BigInt(Math.trunc(r.packetsIn))}, ${BigInt(Math.trunc(r.packetsOut))}, ${r.lastInAt}, ${r.lastOutAt}, ${r.establishedAt}, ${r.rekeyAt}, ${r.innerAddr}, ${r.rttP50Ms}, ${r.probesSent}, ${r.probesAnswered}, ${r.probeFailStreak}, ${r.measuredAt})`,
        );
        statements.push(sql`INSERT INTO "LinkHealth" (${columnList}) VALUES ${join(rows)} ON CONFLICT ("linkId", "gatewayId") DO UPDATE SET ${updates}`);
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
