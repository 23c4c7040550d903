// Rate budgets shared by every controller process (cloud/pacer.ts): each budget's next free slot,
// reserved in one atomic upsert so two processes never take the same slot.
import { int, sql, type Conn } from './conn';

export interface BudgetStore {
  /**
   * Reserves `spanMs` on budget `key`, from its next free slot or from `at`, whichever is later;
   * the end of the reservation (ms since the epoch).
   */
  reserve(key: string, at: number, spanMs: number): Promise<number>;
}

export function budgetStore(conn: Conn): BudgetStore {
  return {
    async reserve(key, at, spanMs) {
      const rows =
        conn.kind === 'postgresql'
          ? await conn.rows<{ nextAt: unknown }>(sql`
              INSERT INTO "RateBudget" ("key", "nextAt") VALUES (${key}, ${at}::bigint + ${spanMs}::bigint)
              ON CONFLICT ("key") DO UPDATE SET "nextAt" = GREATEST("RateBudget"."nextAt", ${at}::bigint) + ${spanMs}::bigint
              RETURNING "nextAt"`)
          : await conn.rows<{ nextAt: unknown }>(sql`
              INSERT INTO "RateBudget" ("key", "nextAt") VALUES (${key}, ${at} + ${spanMs})
              ON CONFLICT ("key") DO UPDATE SET "nextAt" = max("nextAt", ${at}) + ${spanMs}
              RETURNING "nextAt"`);
      return int(rows[0]!.nextAt);
    },
  };
}
