// How long GET /metrics takes with BENCH_LINKS links (default 10,000; issue 10's target: 200 ms) on
// PostgreSQL: the first scrape counts links by state (one grouped query), the next ones within
// LINK_COUNT_TTL_MS are served from the cache. Prints figures; asserts nothing.
//   npm run bench:metrics
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { migrateDb, openDb } from '../db';
import { createDatabase, dropDatabase, pgAdminUrl, scratchName } from '../db/tooling/pg-admin';
import { ControllerMetrics, LINK_STATES } from '../lib/metrics';
import { LINK_COUNT_TTL_MS, linkStateCounts, metricsListenerHandler } from '../controller/metrics';
import { silentLogger } from '../lib/log';

const LINKS = Number(process.env.BENCH_LINKS ?? 10_000);
const SCRAPES = 50;

async function main(): Promise<void> {
  const admin = pgAdminUrl();
  const name = scratchName('bench_metrics');
  let url: string;
  try {
    url = await createDatabase(admin, name);
  } catch (err) {
    process.stdout.write(`bench:metrics skipped: PostgreSQL at ${admin.replace(/\/\/[^@]*@/, '//')} does not answer (${(err as Error).message})\n`);
    return;
  }
  try {
    await migrateDb(url);
    const db = await openDb(url);
    try {
      await seed(db, LINKS);
      const metrics = new ControllerMetrics({ linkStates: linkStateCounts(db, silentLogger) });
      const server = http.createServer(metricsListenerHandler(metrics, silentLogger));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      try {
        const scrape = async (): Promise<{ ms: number; bytes: number }> => {
          const started = performance.now();
          const body = await (await fetch(base)).text();
          return { ms: performance.now() - started, bytes: body.length };
        };
        const first = await scrape();
        const cached: number[] = [];
        for (let i = 0; i < SCRAPES; i++) cached.push((await scrape()).ms);
        // Past the cache's life: every scrape counts again.
        const uncached: number[] = [];
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, LINK_COUNT_TTL_MS + 50));
          uncached.push((await scrape()).ms);
        }
        const fmt = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
        process.stdout.write(
          [
            `GET /metrics with ${LINKS} links on PostgreSQL (${first.bytes} bytes):`,
            `  first scrape (counts links, cold process):  ${first.ms.toFixed(1)} ms`,
            `  scrapes counting links (cache expired):     ${fmt(uncached)}`,
            `  scrapes within ${LINK_COUNT_TTL_MS / 1000} s (cached counts):       ${fmt(cached)}`,
            '',
          ].join('\n'),
        );
      } finally {
        server.close();
      }
    } finally {
      await db.$disconnect();
    }
  } finally {
    await dropDatabase(admin, name);
  }
}

/** Gateways and links in bulk (one statement each), spread over every state. */
async function seed(db: Awaited<ReturnType<typeof openDb>>, links: number): Promise<void> {
  await db.$executeRawUnsafe(
    `INSERT INTO "Gateway" ("id", "name", "provider", "cidrs", "secretHash", "updatedAt")
     SELECT 'gw' || i, 'gw-' || i, 'onprem', '["10.0.0.0/24"]', 'x', now() FROM generate_series(1, $1::int) AS i`,
    links * 2,
  );
  await db.$executeRawUnsafe(
    `INSERT INTO "Link" ("id", "aId", "bId", "activePairKey", "state", "aCidrs", "bCidrs", "pskCiphertext", "workflowId", "updatedAt")
     SELECT 'ln' || i, 'gw' || (2 * i - 1), 'gw' || (2 * i), 'gw' || (2 * i - 1) || '|gw' || (2 * i), ($2::text[])[1 + i % $3::int], '[]', '[]', 'x', 'link-ln' || i, now()
       FROM generate_series(1, $1::int) AS i`,
    links,
    [...LINK_STATES],
    LINK_STATES.length,
  );
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:metrics: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
