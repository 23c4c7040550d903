// npm run bench:intent — how fast the API answers a DELETE (issue 13, item 9): the delete is
// recorded as intent (state deleting) in the request and answered 202 before the link's workflow
// hears of it, whatever the workflow is doing. Three conditions, N links each, one DELETE per link
// one after another, then a repeated DELETE of the first 10 (also 202):
//   running      a full controller (API, hub, worker); the links' workflows are live, waiting for
//                gateways that never connect, and each delete starts their teardown;
//   worker down  an API-only controller on a task queue nobody polls: no workflow ever runs;
//   no Temporal  the full controller reaches Temporal through a relay, which is cut first.
// Prints p50 / p95 / max per condition and the CPU seconds this process (API and workers) used.
// Target on a 2-core machine: p95 ≤ 100 ms in every condition.
// Knobs: BENCH_LINKS (100 per condition), BENCH_DB (sqlite, the embedded default; or postgres).
import { randomBytes } from 'node:crypto';
import { newSecretKey, parseSecretKey } from '../lib/crypto';
import { linkHubToSpokes } from '../test/helpers/agents';
import { startTestController, type TestController } from '../test/helpers/controller';
import { createPgTestDb, createSqliteTestDb, type TestDb } from '../test/helpers/db';
import { cuttableRelay } from '../test/helpers/relay';
import { startTestTemporal, temporalCliAvailable } from '../test/helpers/temporal';
import { cpuSnapshot, percentile, summarize } from './stats';

const N = Number(process.env.BENCH_LINKS ?? 100);
const DB = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'sqlite';
const TARGET_P95_MS = 100;

interface Row { name: string; deletes: number[]; repeats: number[]; cpu: number }

/** One DELETE per link, then a repeat of the first 10; every answer must be 202 with state deleting. */
async function measure(name: string, ctl: TestController, links: string[]): Promise<Row> {
  const cpu = cpuSnapshot([process.pid]);
  const timedDelete = async (id: string): Promise<number> => {
    const started = performance.now();
    const answer = await ctl.api<{ state?: string }>('DELETE', `/api/links/${id}`);
    const ms = performance.now() - started;
    if (answer.status !== 202 || answer.body.state !== 'deleting') throw new Error(`${name}: DELETE ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return ms;
  };
  const deletes: number[] = [];
  for (const id of links) deletes.push(await timedDelete(id));
  const repeats: number[] = [];
  for (const id of links.slice(0, 10)) repeats.push(await timedDelete(id));
  return { name, deletes, repeats, cpu: cpu() };
}

async function main(): Promise<void> {
  const cli = temporalCliAvailable();
  if (!cli.ok) throw new Error(`bench:intent needs the Temporal CLI: ${cli.reason}`);
  const temporal = await startTestTemporal();
  const dbs: TestDb[] = [];
  const newDb = async (): Promise<TestDb> => {
    const db = DB === 'postgres' ? await createPgTestDb() : await createSqliteTestDb();
    // One Prisma client per database and process: the controller's.
    await db.db.$disconnect();
    dbs.push(db);
    return db;
  };
  const secretKey = parseSecretKey(newSecretKey());
  const queue = (tag: string) => `bench-intent-${tag}-${randomBytes(3).toString('hex')}`;
  const rows: Row[] = [];
  try {
    {
      const ctl = await startTestController({ temporal, databaseUrl: (await newDb()).url, taskQueue: queue('running'), secretKey });
      try {
        rows.push(await measure('running', ctl, await linkHubToSpokes(ctl, 'running', N)));
      } finally {
        await ctl.close();
      }
    }
    {
      const ctl = await startTestController({ temporal, databaseUrl: (await newDb()).url, taskQueue: queue('idle'), roles: ['api'], secretKey });
      try {
        rows.push(await measure('worker down', ctl, await linkHubToSpokes(ctl, 'idle', N)));
      } finally {
        await ctl.close();
      }
    }
    {
      const relay = await cuttableRelay(temporal.address);
      const ctl = await startTestController({ temporal, temporalAddress: relay.address, databaseUrl: (await newDb()).url, taskQueue: queue('cut'), secretKey });
      try {
        const links = await linkHubToSpokes(ctl, 'cut', N);
        await relay.cut();
        rows.push(await measure('no Temporal', ctl, links));
        // Back, so the controller's workers and clients can shut down cleanly.
        await relay.restore();
      } finally {
        await ctl.close();
        await relay.close();
      }
    }
  } finally {
    for (const db of dbs) await db.cleanup();
    await temporal.stop();
  }
  console.log(`\nbench:intent — DELETE /api/links/:id answered with 202 (state deleting), ${N} links per condition, one request at a time (${DB === 'postgres' ? 'PostgreSQL' : 'SQLite, the embedded default'})`);
  for (const row of rows) {
    console.log(summarize(`${row.name}: DELETE`, row.deletes));
    console.log(summarize(`${row.name}: repeated DELETE`, row.repeats));
    console.log(`${`${row.name}: CPU`.padEnd(40)} ${((row.cpu / (row.deletes.length + row.repeats.length)) * 1000).toFixed(1)} ms per request (this process: API, hub and workers; ${row.cpu.toFixed(2)} s in all)`);
  }
  const worst = Math.max(...rows.map((row) => percentile(row.deletes, 95)));
  console.log(`target p95 ≤ ${TARGET_P95_MS} ms in every condition: ${worst <= TARGET_P95_MS ? 'MET' : 'NOT MET'} (worst p95 ${worst.toFixed(1)} ms)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
