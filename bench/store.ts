// Micro-benchmark of the store's hot path: process CPU milliseconds per link for the activities a
// link create runs against the database (planAndClaim, recordEvent, setLinkState, markRoutes,
// locateGateway), on SQLite and on PostgreSQL (skipped when TEST_PG_URL's server does not answer).
// No Temporal, no agents: AWS-style cloud ends, whose claims are not handed to a workflow.
//   npm run bench:store            BENCH_LINKS (default 300) links, after 30 to warm up
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateDb, openDb, type Db } from '../db';
import { createDatabase, dropDatabase, pgAdminUrl, scratchName } from '../db/tooling/pg-admin';
import { createActivities, type Activities } from '../activities';
import { newSecretKey, parseSecretKey, encrypt, randomToken } from '../lib/crypto';
import { silentLogger } from '../lib/log';
import { createStore } from '../store';

const LINKS = Number(process.env.BENCH_LINKS ?? 300);
const WARMUP = 30;
/** Links provisioned at once, as a worker runs several activities side by side. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

interface Figures {
  cpuMsPerLink: number;
  wallMsPerLink: number;
}

function buildActivities(db: Db): Activities {
  return createActivities({
    store: createStore(db),
    secretKey: parseSecretKey(newSecretKey()),
    log: silentLogger,
    clock: () => new Date(),
    hubQueue: (instance) => `bench.hub.${instance}`,
    presenceTtlMs: 45_000,
    providerFor: () => Promise.reject(new Error('no cloud in this benchmark')),
  });
}

/** One AWS gateway and one data center per link, each link between its own pair. */
async function seed(db: Db, count: number, offset: number): Promise<string[]> {
  const key = parseSecretKey(newSecretKey());
  if (offset === 0) await db.cloudAccount.create({ data: { id: 'acbench', name: 'bench', provider: 'aws' } });
  const ids: string[] = [];
  for (let index = offset; index < offset + count; index++) {
    const cloudId = `gwc${index}`;
    const siteId = `gwd${index}`;
    const octet = (index % 250) + 1;
    const third = Math.floor(index / 250);
    await db.gateway.create({
      data: {
        id: cloudId, name: `vpc-${index}`, provider: 'aws', cidrs: JSON.stringify([`10.${octet}.${third}.0/24`]), publicIp: `198.51.${third}.${octet}`, secretHash: 'x',
        online: true, lastSeenAt: new Date(), hubInstance: 'h1', accountId: 'acbench', region: 'eu-west-1', instanceId: `i-${index}`,
        routeTableIds: JSON.stringify([`rtb-${index}a`, `rtb-${index}b`]), securityGroupIds: JSON.stringify([`sg-${index}`]), state: 'ready',
      },
    });
    await db.gateway.create({
      data: { id: siteId, name: `dc-${index}`, provider: 'onprem', cidrs: JSON.stringify([`172.16.${octet}.0/24`]), publicIp: `203.0.${third}.${octet}`, secretHash: 'x', online: true, lastSeenAt: new Date(), hubInstance: 'h1' },
    });
    const id = `lnbench${index}`;
    await db.link.create({
      data: {
        id, aId: cloudId, bId: siteId, activePairKey: `${cloudId}|${siteId}`, state: 'provisioning', aCidrs: JSON.stringify([`10.${octet}.${third}.0/24`]),
        bCidrs: JSON.stringify([`172.16.${octet}.0/24`]), pskCiphertext: encrypt(key, randomToken(32), { table: 'Link', id }), workflowId: `link-${id}`,
        events: { create: { type: 'link.requested', message: 'requested' } },
      },
    });
    ids.push(id);
  }
  return ids;
}

/** What one link's provisioning asks of the database, in the workflow's order. */
async function provision(acts: Activities, linkId: string): Promise<void> {
  const { plan, claimed } = await acts.planAndClaim({ linkId, enqueue: { replyTo: `link-${linkId}`, baseQueue: 'bench' } });
  const routes = claimed?.a?.routes;
  if (!routes || 'conflict' in routes) throw new Error(`link ${linkId}: no routes claimed`);
  await acts.locateGateway(plan.a.gatewayId);
  for (const side of [plan.a, plan.b]) {
    await acts.recordEvent({ linkId, type: 'config.pushed', message: `config v1 applied on gateway ${side.gatewayId}`, data: { gatewayId: side.gatewayId, changed: true, remote: ['x'] } });
  }
  await acts.setLinkState({
    linkId,
    state: 'up',
    routes: routes.claims.map((claim) => ({ id: claim.id, state: 'present' as const, preexisting: false })),
    events: [{ type: 'cloud.routes_added', message: `${routes.claims.length} routes`, data: { count: routes.claims.length } }, { type: 'cloud.rule_added', message: 'rule' }],
    event: { type: 'link.up', message: 'tunnel up' },
  });
  await acts.markRoutes({ linkId, updates: routes.claims.map((claim) => ({ id: claim.id, state: 'present' as const })), event: { type: 'cloud.routes_checked', message: 'checked' } });
}

async function runAll(acts: Activities, ids: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) await provision(acts, ids[next++]!);
    }),
  );
}

async function measure(db: Db): Promise<Figures> {
  const acts = buildActivities(db);
  await runAll(acts, await seed(db, WARMUP, 0));
  const ids = await seed(db, LINKS, WARMUP);
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await runAll(acts, ids);
  const used = process.cpuUsage(cpu);
  return { cpuMsPerLink: (used.user + used.system) / 1000 / LINKS, wallMsPerLink: (performance.now() - wall) / LINKS };
}

/** Migrates a fresh database at `url`, measures on it, and closes it. */
async function measureAt(url: string): Promise<Figures> {
  await migrateDb(url);
  const db = await openDb(url);
  try {
    return await measure(db);
  } finally {
    await db.$disconnect();
  }
}

async function onSqlite(): Promise<Figures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-store-'));
  const url = `file:${path.join(dir, 'bench.db')}`;
  try {
    return await measureAt(url);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function onPostgres(): Promise<Figures | string> {
  const admin = pgAdminUrl();
  const name = scratchName('ipsec_bench');
  let url: string;
  try {
    url = await createDatabase(admin, name);
  } catch (err) {
    return `skipped: ${(err as Error).message}`;
  }
  try {
    return await measureAt(url);
  } finally {
    await dropDatabase(admin, name);
  }
}

function show(label: string, figures: Figures | string): void {
  if (typeof figures === 'string') console.log(`${label}: ${figures}`);
  else console.log(`${label}: ${figures.cpuMsPerLink.toFixed(2)} CPU ms/link, ${figures.wallMsPerLink.toFixed(2)} wall ms/link (${LINKS} links, ${CONCURRENCY} at once)`);
}

async function main(): Promise<void> {
  show('SQLite    ', await onSqlite());
  show('PostgreSQL', await onPostgres());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
