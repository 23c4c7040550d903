// Strict pacing of provider calls, shared by every controller process through the database: each
// call reserves its budget's next slot (GCRA with a burst of one) in a single atomic upsert, then
// waits for it. Temporal's task-queue rate limit decides how many calls are dispatched (and keeps
// the backlog); this makes sure no one-second window ever holds more than the budget allows,
// which a dispatcher with bursts cannot promise. An activity that makes several calls (discovery's
// reads) takes a slot right before each one, never several up front: calls stay spaced by 1/rate.
import type { ApiClass } from './queues';

export type Pacer = (key: { provider: string; accountId: string; region: string; api: ApiClass }, ratePerSecond: number, slots?: number) => Promise<number>;

/** A small margin per slot: two calls arriving a few ms apart must not both count in one window. */
const MARGIN_MS = 2;
/** How late a slot may be taken before it is given up for the next one. */
const LATE_MS = 15;

/** Where budgets' slots are reserved atomically, for every process alike: the store's `budgets`. */
export interface SlotReservations {
  /** Reserves `spanMs` from the budget's next free slot or from `at`, whichever is later; the reservation's end (epoch ms). */
  reserve(key: string, at: number, spanMs: number): Promise<number>;
}

/** The pacer over the database's rate budgets (store/budgets.ts), shared by every process using it. */
export function dbPacer(budgets: SlotReservations, now: () => number = Date.now): Pacer {
  return async (budget, rate, slots = 1) => {
    const span = (Math.ceil(1000 / rate) + MARGIN_MS) * slots;
    const key = `${budget.provider}|${budget.accountId}|${budget.region}|${budget.api}`;
    // A reservation that comes back already in the past (the database was slow to answer) would
    // crowd the next caller's slot: take a fresh one instead, at most a few times.
    for (let attempt = 0; ; attempt++) {
      const at = now();
      const wait = (await budgets.reserve(key, at, span)) - span - now();
      if (wait < -LATE_MS && attempt < 3) continue;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      return Math.max(0, wait);
    }
  };
}
