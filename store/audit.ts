// The audit trail (table AuditRecord): appended once per mutating API call, read newest first with
// filters and a cursor, pruned by age. Nothing here updates or deletes a single record.
import { sql, type Conn } from './conn';

export interface AuditRecord {
  id: number;
  at: Date;
  actor: string;
  tokenId: string | null;
  source: string;
  action: string;
  target: string | null;
  body: string | null;
  status: number;
  requestId: string;
  secret: string | null;
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

export interface AuditQuery {
  actor?: string;
  target?: string;
  action?: string;
  requestId?: string;
  since?: Date;
  until?: Date;
  /** Records older than this id (the previous page's nextCursor). */
  before?: number;
  limit: number;
}

export interface AuditStore {
  append(record: NewAuditRecord): Promise<void>;
  /** Newest first. */
  find(query: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes records older than `before`; how many. */
  prune(before: Date): Promise<number>;
}

export function auditStore(conn: Conn): AuditStore {
  const { prisma } = conn;
  return {
    // Raw SQL: one record per mutating call, on the API's hot path (the model API compiles each).
    async append(r) {
      await conn.execute(
        sql`INSERT INTO "AuditRecord" ("at", "actor", "tokenId", "source", "action", "target", "body", "status", "requestId", "secret") VALUES (${r.at}, ${r.actor}, ${r.tokenId}, ${r.source}, ${r.action}, ${r.target}, ${r.body}, ${r.status}, ${r.requestId}, ${r.secret})`,
      );
    },
    find: (q) =>
      prisma.auditRecord.findMany({
        where: {
          ...(q.actor !== undefined ? { actor: q.actor } : {}),
          ...(q.target !== undefined ? { target: q.target } : {}),
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.requestId !== undefined ? { requestId: q.requestId } : {}),
          ...(q.since || q.until ? { at: { ...(q.since ? { gte: q.since } : {}), ...(q.until ? { lt: q.until } : {}) } } : {}),
          ...(q.before !== undefined ? { id: { lt: q.before } } : {}),
        },
        orderBy: { id: 'desc' },
        take: q.limit,
      }),
    prune: async (before) => (await prisma.auditRecord.deleteMany({ where: { at: { lt: before } } })).count,
  };
}
