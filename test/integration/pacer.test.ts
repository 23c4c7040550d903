// The shared cloud-call pacer: calls of one budget are spaced by at least 1/rate, also when two
// controller processes (two database clients here) reserve slots at the same time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbPacer } from '../../cloud/pacer';
import { openDb, type Db } from '../../db';
import { createStore } from '../../store';
import { createPgTestDb, createSqliteTestDb, pgAvailable, type TestDb } from '../helpers/db';

const pg = await pgAvailable();

for (const kind of ['sqlite', 'postgresql'] as const) {
  describe.runIf(kind === 'sqlite' || pg)(`pacer on ${kind}`, () => {
    let t: TestDb;
    let second: Db;
    beforeAll(async () => {
      t = kind === 'sqlite' ? await createSqliteTestDb() : await createPgTestDb();
      second = await openDb(t.url);
    });
    afterAll(async () => {
      await second?.$disconnect();
      await t?.cleanup();
    });

    it('spaces calls of one budget across two clients and keeps budgets apart', async () => {
      const p1 = dbPacer(createStore(t.db).budgets);
      const p2 = dbPacer(createStore(second).budgets);
      const key = { provider: 'aliyun', accountId: 'acc', region: 'cn-hangzhou', api: 'routeWrite' as const };
      const t0 = Date.now();
      const at: number[] = [];
      const other: number[] = [];
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => (i % 2 ? p1 : p2)(key, 20).then(() => at.push(Date.now() - t0))),
        ...Array.from({ length: 3 }, () => p1({ ...key, api: 'routeRead' }, 20).then(() => other.push(Date.now() - t0))),
      ]);
      at.sort((a, b) => a - b);
      // 20/s → one slot per 52 ms, and no call starts before its slot. A call may start after it
      // (database round trip, and a timer that fires late on a loaded machine: 18 ms was seen in a
      // full run), which brings the next one closer; but never two calls in one slot.
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(26);
      expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(9 * 50);
      // Another API class has its own budget: not queued behind routeWrite.
      expect(Math.min(...other)).toBeLessThan(200);
    });

    it('reserves several slots for a call that spends several', async () => {
      const p = dbPacer(createStore(t.db).budgets);
      const key = { provider: 'aws', accountId: 'acc', region: 'eu-west-1', api: 'describe' as const };
      await p(key, 10, 3);
      const t0 = Date.now();
      await p(key, 10);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    });
  });
}
