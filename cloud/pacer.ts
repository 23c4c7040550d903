// Strict pacing of provider calls, shared by every controller process through the database: each
// call reserves its budget's next slot (GCRA with a burst of one) in a single atomic upsert, then
// waits for it. Temporal's task-queue rate limit decides how many calls are dispatched (and keeps
// the backlog); this makes sure no one-second window ever holds more than the budget allows,
// which a dispatcher with bursts cannot promise. An activity that makes several calls (discovery's
// reads) takes a slot right before each one, never several up front: calls stay spaced by 1/rate.
import type { Db } from '../db';
import { databaseKind } from '../db';
import type { ApiClass } from './queues';

export type Pacer = (key: { provider: string; accountId: string; region: string; api: ApiClass }, ratePerSecond: number, slots?: number) => Promise<number>;

/** A small margin per slot: two calls arriving a few ms apart must not both count in one window. */
const MARGIN_MS = 2;
/** How late a slot may be taken before it is given up for the next one. */
const LATE_MS = 15;

export function dbPacer(db: Db, databaseUrl: string, now: () => number = Date.now): Pacer {
  // Parameters, in order: key, now, span, now, span (SQLite's driver takes plain positional ones).
  const sql =
    databaseKind(databaseUrl) === 'postgresql'
      ? `INSERT INTO "RateBudget" ("key", "nextAt") VALUES ($1, $2::bigint + $3::bigint)
         ON CONFLICT ("key") DO UPDATE SET "nextAt" = GREATEST("RateBudget"."nextAt", $4::bigint) + $5::bigint
         RETURNING "nextAt"`
      : `INSERT INTO "RateBudget" ("key", "nextAt") VALUES (?, ? + ?)
         ON CONFLICT ("key") DO UPDATE SET "nextAt" = max("nextAt", ?) + ?
         RETURNING "nextAt"`;
  return async (budget, rate, slots = 1) => {
    const span = (Math.ceil(1000 / rate) + MARGIN_MS) * slots;
    const key = `${budget.provider}|${budget.accountId}|${budget.region}|${budget.api}`;
    // A reservation that comes back already in the past (the database was slow to answer) would
    // crowd the next caller's slot: take a fresh one instead, at most a few times.
    for (let attempt = 0; ; attempt++) {
      const at = now();
      const rows = await db.$queryRawUnsafe<Array<{ nextAt: bigint | number }>>(sql, key, at, span, at, span);
      const wait = Number(rows[0]!.nextAt) - span - now();
      if (wait < -LATE_MS && attempt < 3) continue;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return Math.max(0, wait);
    }
  };
}
