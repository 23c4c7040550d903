// The latest data-plane figures per link end (table LinkHealth). The hub writes them in batches,
// at most one row write per link end and flush; the API reads them beside the links.
import type { Conn } from './conn';

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

export function healthStore(conn: Conn): HealthStore {
  return {
    async putMany(records) {
      if (records.length === 0) return;
      await conn.atomically(async (tx) => {
        for (const r of records) {
          const data = { ...r, bytesIn: BigInt(Math.trunc(r.bytesIn)), bytesOut: BigInt(Math.trunc(r.bytesOut)), packetsIn: BigInt(Math.trunc(r.packetsIn)), packetsOut: BigInt(Math.trunc(r.packetsOut)) };
          await tx.prisma.linkHealth.upsert({ where: { linkId_gatewayId: { linkId: r.linkId, gatewayId: r.gatewayId } }, create: data, update: data });
        }
      });
    },

    async forLinks(linkIds) {
      if (linkIds.length === 0) return [];
      const rows = await conn.prisma.linkHealth.findMany({ where: { linkId: { in: [...linkIds] } } });
      return rows.map((row) => ({
        ...row,
        end: row.end === 'b' ? 'b' : 'a',
        bytesIn: Number(row.bytesIn),
        bytesOut: Number(row.bytesOut),
        packetsIn: Number(row.packetsIn),
        packetsOut: Number(row.packetsOut),
      }));
    },
  };
}
