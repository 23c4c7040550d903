// npm run bench:hub — N simulated agents (the production agent session, no strongSwan) spread over
// several client processes dial one hub process at once, as after a controller restart. Prints the
// time until the database (a scratch PostgreSQL database) records all N online, the hub's resident
// memory, `status` RPC latency under a steady open-loop request rate, and then what data-plane
// health reports cost the hub: every agent sends a health frame per interval (the agent's frame,
// spread over the interval) about the links it is an end of (pairs of gateways, seeded as Link rows),
// and the hub's collector (gateway-hub/health.ts, wired as the controller wires it) checks, keeps
// and writes them. The hub's CPU while they report is set against an equal idle window (agents
// connected, not reporting) just before.
// Targets on a 2-core machine: 18,000 online within 30 s in ≤ 512 MiB RSS; p99 ≤ 20 ms at 2,000/s;
// 18,000 agents reporting health every 10 s add ≤ 15 % of a core to the hub, with LinkHealth writes
// within the code's bound (one row per link end per flush, a flush per interval at most; while only
// the figures move, a row per end every third interval).
// Knobs (environment): BENCH_AGENTS (18000), BENCH_CLIENTS (4 agent processes), BENCH_RPC_RATE
// (2000/s), BENCH_RPC_SECONDS (10), BENCH_STORM_TIMEOUT_MS (120000), BENCH_LISTEN_BACKLOG (the hub
// server's listen backlog, default AGENT_LISTEN_BACKLOG), BENCH_HEALTH_SECONDS (30: the measured
// window and the idle one, 3 rounds at the default interval; 0 skips the phase),
// BENCH_HEALTH_INTERVAL_MS (10000, the agent's HEALTH_INTERVAL_MS default), TEST_PG_URL (the
// PostgreSQL server for the scratch database), BENCH_HUB_NODE_ARGS / BENCH_AGENTS_NODE_ARGS (extra
// node flags for the hub process / the first agent process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { hashSecret } from '../lib/crypto';
import { healthRowsPerStatement } from '../store';
import { createPgTestDb, pgAvailable } from '../test/helpers/db';
import { percentile } from './stats';
import {
  cidrAt,
  gatewayIdAt,
  linkIdAt,
  linkPairs,
  secretFor,
  type AgentsCommand,
  type AgentsEvent,
  type HealthCounts,
  type HubCommand,
  type HubEvent,
  type RpcSummary,
} from './hub/fleet';

const N = Number(process.env.BENCH_AGENTS ?? 18_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const RATE = Number(process.env.BENCH_RPC_RATE ?? 2_000);
const RPC_SECONDS = Number(process.env.BENCH_RPC_SECONDS ?? 10);
const STORM_LIMIT_MS = Number(process.env.BENCH_STORM_TIMEOUT_MS ?? 120_000);
const HEALTH_SECONDS = Number(process.env.BENCH_HEALTH_SECONDS ?? 30);
const HEALTH_INTERVAL_MS = Number(process.env.BENCH_HEALTH_INTERVAL_MS ?? 10_000);
const TARGET = { n: 18_000, stormMs: 30_000, rssMiB: 512, p99Ms: 20, rate: 2_000, healthCore: 0.15, healthIntervalMs: 10_000 };
/** Rows per LinkHealth upsert statement on the benchmark's database (PostgreSQL). */
const HEALTH_ROWS_PER_STATEMENT = healthRowsPerStatement('postgresql');
const INSTANCE = 'bench-hub';
const MiB = 1024 * 1024;

/** Children run TypeScript through tsx's loader in the same node process, so pid and RSS are the child's own. */
function spawnChild(file: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  return fork(path.join(__dirname, 'hub', file), [], {
    execArgv: ['--import', 'tsx', ...nodeArgs],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no '${type}' from child ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: T) => {
      if (m.type !== type) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number | null) => fail(new Error(`child ${child.pid} exited (${code}) while waiting for '${type}'`));
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** VmRSS and VmHWM (peak) of a process, in bytes, as the kernel accounts them. */
function procMemory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** User + system CPU time of a process so far, in seconds (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return 0; // the process is gone
  }
}

/** CPU seconds the whole machine has spent busy (all cores, /proc/stat), to see what else ran. */
function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

/** CPU seconds used so far by every PostgreSQL server process on this machine. */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuSeconds(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return total;
}

function openFileLimit(): number {
  const line = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return line ? Number(line[1]) : Infinity;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function seedGateways(url: string, seed: string): Promise<void> {
  // Plain pg for bulk set-up: 18,000 rows through unnest in one statement per chunk.
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (let from = 0; from < N; from += 2000) {
      const ids = Array.from({ length: Math.min(2000, N - from) }, (_, k) => gatewayIdAt(from + k));
      await c.query(
        `INSERT INTO "Gateway" (id, name, provider, cidrs, "secretHash", "updatedAt")
         SELECT id, id, 'onprem', c, h, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, h, c)`,
        [ids, ids.map((id) => hashSecret(secretFor(seed, id))), ids.map((_, k) => JSON.stringify([cidrAt(from + k)]))],
      );
    }
    // The links health reports are about: the hub trusts an agent only about links its gateway is
    // an end of (DESIGN §5), read from these rows. State up, each end carrying its gateway's network
    // (the inner address an agent reports must lie inside it). The PSK is never read here.
    const pairs = linkPairs(N);
    for (let from = 0; from < pairs.length; from += 2000) {
      const chunk = pairs.slice(from, from + 2000);
      const ids = chunk.map((p) => linkIdAt(p.k));
      await c.query(
        `INSERT INTO "Link" (id, "aId", "bId", "activePairKey", state, "aCidrs", "bCidrs", "pskCiphertext", "workflowId", "updatedAt")
         SELECT id, a, b, least(a, b) || '|' || greatest(a, b), 'up', ac, bc, 'bench-not-a-psk', 'link-' || id, now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(id, a, b, ac, bc)`,
        [
          ids,
          chunk.map((p) => gatewayIdAt(p.a)),
          chunk.map((p) => gatewayIdAt(p.b)),
          chunk.map((p) => JSON.stringify([cidrAt(p.a)])),
          chunk.map((p) => JSON.stringify([cidrAt(p.b)])),
        ],
      );
    }
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  if (!(await pgAvailable())) process.exit(1);
  const perClient = Math.ceil(N / CLIENTS);
  const limit = openFileLimit();
  if (N + 100 > limit || perClient + 100 > limit) {
    console.error(`open-file limit ${limit} is too low for ${N} agents (hub) / ${perClient} per client process; raise ulimit -n or BENCH_CLIENTS`);
    process.exit(1);
  }
  const seed = randomBytes(16).toString('hex');
  const testDb = await createPgTestDb();
  await testDb.db.$disconnect(); // the hub process opens its own client; this one would only hold a connection
  const children: ChildProcess[] = [];
  const poll = new pg.Client({ connectionString: testDb.url });
  const stopAll = () => {
    for (const c of children) if (c.connected) c.send({ type: 'stop' } satisfies HubCommand & AgentsCommand);
  };
  process.once('SIGINT', () => {
    stopAll();
    void testDb.cleanup().finally(() => process.exit(130));
  });
  try {
    await seedGateways(testDb.url, seed);
    await poll.connect();

    const hub = spawnChild('hub-process.ts', { BENCH_DATABASE_URL: testDb.url, BENCH_HUB_INSTANCE: INSTANCE }, (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean));
    children.push(hub);
    const { port } = await nextMessage<Extract<HubEvent, { type: 'ready' }>>(hub, 'ready');
    const idle = procMemory(hub.pid!);

    const clients: ChildProcess[] = [];
    const progress = new Map<ChildProcess, Extract<AgentsEvent, { type: 'progress' }>>();
    for (let k = 0; k < CLIENTS; k++) {
      const from = k * perClient;
      const count = Math.min(perClient, N - from);
      if (count <= 0) break;
      const c = spawnChild(
        'agents-process.ts',
        { BENCH_HUB_URL: `ws://127.0.0.1:${port}`, BENCH_SEED: seed, BENCH_FROM: String(from), BENCH_COUNT: String(count), BENCH_FLEET: String(N) },
        k === 0 ? (process.env.BENCH_AGENTS_NODE_ARGS ?? '').split(' ').filter(Boolean) : [],
      );
      c.on('message', (m: AgentsEvent) => m.type === 'progress' && progress.set(c, m));
      clients.push(c);
      children.push(c);
    }
    await Promise.all(clients.map((c) => nextMessage(c, 'ready')));
    const sum = (k: 'welcomed' | 'connected' | 'failedAttempts' | 'rejected' | 'served' | 'healthSent' | 'probeTargets') => [...progress.values()].reduce((n, p) => n + p[k], 0);

    console.log(`bench:hub — ${N} agents in ${clients.length} client processes → 1 hub process (pid ${hub.pid}), presence in PostgreSQL`);
    console.log(`hub idle RSS before the storm: ${mib(idle.rss)}; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores (other work slows every figure below)`);

    // ---- reconnect storm ----
    const cpu0 = { hub: cpuSeconds(hub.pid!), agents: clients.reduce((n, c) => n + cpuSeconds(c.pid!), 0), pg: postgresCpuSeconds(), all: machineBusySeconds() };
    const stormStart = new Date();
    const t0 = Date.now();
    for (const c of clients) c.send({ type: 'go' } satisfies AgentsCommand);
    let online = 0;
    let allWelcomedMs: number | undefined;
    let lastReport = t0;
    while (Date.now() - t0 < STORM_LIMIT_MS) {
      const r = await poll.query<{ n: string }>(`SELECT count(*) AS n FROM "Gateway" WHERE online AND "hubInstance" = $1 AND "lastSeenAt" >= $2`, [INSTANCE, stormStart]);
      online = Number(r.rows[0]!.n);
      if (allWelcomedMs === undefined && sum('welcomed') >= N) allWelcomedMs = Date.now() - t0;
      if (online >= N) break;
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        console.log(`  ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s: ${online} online in the database, ${sum('welcomed')} welcomed, ${sum('failedAttempts')} failed attempts, hub RSS ${mib(procMemory(hub.pid!).rss)}`);
      }
      await sleep(100);
    }
    const stormMs = Date.now() - t0;
    const stormOk = online >= N;
    const afterStorm = procMemory(hub.pid!);
    const cpu = { hub: cpuSeconds(hub.pid!) - cpu0.hub, agents: clients.reduce((n, c) => n + cpuSeconds(c.pid!), 0) - cpu0.agents, pg: postgresCpuSeconds() - cpu0.pg, all: machineBusySeconds() - cpu0.all };
    const others = Math.max(0, cpu.all - cpu.hub - cpu.agents - cpu.pg);
    console.log(`\nreconnect storm: ${online}/${N} recorded online in ${(stormMs / 1000).toFixed(1)} s` + (stormOk ? '' : ' (gave up)'));
    if (allWelcomedMs !== undefined) console.log(`  all agents had their welcome after ${(allWelcomedMs / 1000).toFixed(1)} s`);
    console.log(`  failed connection attempts retried by agents: ${sum('failedAttempts')}; credentials rejected: ${sum('rejected')}`);
    // The machine has 2 cores shared by everything below (and by whatever else runs): this says who used them.
    console.log(`  CPU used meanwhile: hub ${cpu.hub.toFixed(1)} s, agent processes ${cpu.agents.toFixed(1)} s, PostgreSQL ${cpu.pg.toFixed(1)} s, everything else on the machine ${others.toFixed(1)} s (of ${((os.cpus().length * stormMs) / 1000).toFixed(0)} core-seconds)`);
    console.log(`hub RSS with ${online} agents online: ${mib(afterStorm.rss)} (peak so far ${mib(afterStorm.peak)})`);
    if (!stormOk) throw new Error('not every agent came online; skipping the RPC phase');

    // ---- RPC latency at a steady rate ----
    // The database can show everyone online while a few agents are still mid-reconnect (an attempt
    // they had given up on was recorded, and their next one replaces it): wait until the hub holds
    // all N and every agent's current socket is welcomed, so that the RPC phase measures steady
    // state rather than the tail of the storm.
    const settleStart = Date.now();
    let ready = 0;
    while (Date.now() - settleStart < 60_000) {
      hub.send({ type: 'stats' } satisfies HubCommand);
      ready = (await nextMessage<Extract<HubEvent, { type: 'stats' }>>(hub, 'stats')).ready;
      if (ready >= N && sum('connected') >= N) break;
      await sleep(250);
    }
    console.log(`settled: hub holds ${ready}/${N} welcomed agents, ${sum('connected')} agents connected, ${((Date.now() - t0) / 1000).toFixed(1)} s after the storm began`);
    await sleep(2000); // let the storm's garbage settle
    const rpcCpu0 = cpuSeconds(hub.pid!);
    const rpcAll0 = machineBusySeconds();
    const served0 = sum('served');
    hub.send({ type: 'rpc', rate: RATE, seconds: RPC_SECONDS, method: 'status' } satisfies HubCommand);
    const { summary } = await nextMessage<Extract<HubEvent, { type: 'rpc' }>>(hub, 'rpc', RPC_SECONDS * 1000 + 60_000);
    const rpcCpu = cpuSeconds(hub.pid!) - rpcCpu0;
    const rpcAll = machineBusySeconds() - rpcAll0;
    await sleep(500); // one more progress report from the agent processes
    const served = sum('served') - served0;
    const end = procMemory(hub.pid!);
    hub.send({ type: 'stats' } satisfies HubCommand);
    const stats = await nextMessage<Extract<HubEvent, { type: 'stats' }>>(hub, 'stats');
    const measured = { stormMs, stormOk, online, rss: end.rss, peak: end.peak, heapUsed: stats.heapUsed, connected: stats.ready, rpcCpu, rpcAll, served };
    reportRpc(summary, measured);

    // ---- data-plane health reports ----
    const health = HEALTH_SECONDS > 0 ? await healthPhase(hub, clients, poll, sum) : undefined;
    targets(summary, measured, health);
  } finally {
    stopAll();
    await poll.end().catch(() => undefined);
    await sleep(200);
    await testDb.cleanup();
  }
}

type Measured = { stormMs: number; stormOk: boolean; online: number; rss: number; peak: number; heapUsed: number; connected: number; rpcCpu: number; rpcAll: number; served: number };

function reportRpc(s: RpcSummary, m: Measured): void {
  const lat = s.latenciesMs;
  const f = (v: number) => `${v.toFixed(1)} ms`;
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const achieved = (lat.length + errors) / (s.durationMs / 1000);
  console.log(`\nRPC 'status' at ${RATE}/s for ${RPC_SECONDS} s (open loop, random gateway of ${m.connected}, latency from scheduled time):`);
  console.log(`  ${lat.length} ok, ${errors} errors${errors ? ` ${JSON.stringify(s.errors)}` : ''}, offered ${achieved.toFixed(0)}/s, ${m.served} answered by agents, generator lag max ${f(s.maxIssueLagMs)}`);
  console.log(`  p50 ${f(percentile(lat, 50))}   p95 ${f(percentile(lat, 95))}   p99 ${f(percentile(lat, 99))}   max ${f(Math.max(...lat))}`);
  const pct = (cpuSeconds: number) => `${((100 * cpuSeconds) / (s.durationMs / 1000)).toFixed(0)}%`;
  console.log(`  CPU meanwhile: hub ${pct(m.rpcCpu)} of one core (heartbeats included); the whole machine ${pct(m.rpcAll)} of one core, of ${os.cpus().length * 100}%`);
  console.log(`hub RSS after the RPC phase: ${mib(m.rss)} (V8 heap in use ${mib(m.heapUsed)}), peak so far ${mib(m.peak)}`);
}

function targets(s: RpcSummary, m: Measured, h: HealthResult | undefined): void {
  const lat = s.latenciesMs;
  const f = (v: number) => `${v.toFixed(1)} ms`;
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const p99 = percentile(lat, 99);
  console.log('\ntargets (2-core machine):');
  console.log(`  ${N} agents online within ${TARGET.stormMs / 1000} s: ${(m.stormMs / 1000).toFixed(1)} s → ${verdict(m.stormOk && m.stormMs <= TARGET.stormMs && N >= TARGET.n)}${N < TARGET.n ? ` (only ${N} agents; the target is for ${TARGET.n})` : ''}`);
  console.log(`  hub RSS ≤ ${TARGET.rssMiB} MiB (peak through the RPC phase): ${mib(m.peak)} → ${verdict(m.peak <= TARGET.rssMiB * MiB)}${h ? ` (peak by the end of the health phase: ${mib(h.peakRss)})` : ''}`);
  console.log(`  RPC p99 ≤ ${TARGET.p99Ms} ms at ${TARGET.rate}/s, no errors: ${f(p99)}, ${errors} errors → ${verdict(p99 <= TARGET.p99Ms && errors === 0 && RATE >= TARGET.rate)}`);
  if (!h) {
    console.log('  health reports: not measured (BENCH_HEALTH_SECONDS=0)');
    return;
  }
  const fullFleet = N >= TARGET.n && HEALTH_INTERVAL_MS <= TARGET.healthIntervalMs;
  const complete = h.frames >= h.expectedFrames * 0.98 && h.failed === 0 && h.ignored === 0;
  console.log(
    `  ${N} agents reporting health every ${HEALTH_INTERVAL_MS / 1000} s add ≤ ${TARGET.healthCore * 100}% of a core to the hub: ${pct(h.addedCore)} (${pct(h.healthCore)} reporting − ${pct(h.idleCore)} idle), ` +
      `LinkHealth writes ${h.rowsPerSecond.toFixed(0)} rows/s ≤ bound ${h.boundRowsPerSecond.toFixed(0)} rows/s → ` +
      `${verdict(h.addedCore <= TARGET.healthCore && h.rowsPerSecond <= h.boundRowsPerSecond * 1.05 && complete && fullFleet)}` +
      `${fullFleet ? '' : ` (the target is for ${TARGET.n} agents every ${TARGET.healthIntervalMs / 1000} s)`}${complete ? '' : ' (not every report was taken)'}`,
  );
}

const pct = (core: number) => `${(core * 100).toFixed(1)}%`;

interface HealthResult {
  idleCore: number;
  healthCore: number;
  addedCore: number;
  frames: number;
  expectedFrames: number;
  failed: number;
  ignored: number;
  rowsPerSecond: number;
  boundRowsPerSecond: number;
  peakRss: number;
}

type ProgressSum = (k: 'connected' | 'healthSent' | 'probeTargets') => number;

async function hubStats(hub: ChildProcess): Promise<Extract<HubEvent, { type: 'stats' }>> {
  hub.send({ type: 'stats' } satisfies HubCommand);
  return nextMessage<Extract<HubEvent, { type: 'stats' }>>(hub, 'stats');
}

/** LinkHealth rows PostgreSQL counted as written (an upsert that updates counts as n_tup_upd), and the database's commits. */
async function pgWrites(poll: pg.Client): Promise<{ rows: number; commits: number }> {
  const t = await poll.query<{ n: string | null }>(`SELECT n_tup_ins + n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'LinkHealth'`);
  const d = await poll.query<{ n: string }>(`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`);
  return { rows: Number(t.rows[0]?.n ?? 0), commits: Number(d.rows[0]?.n ?? 0) };
}

/**
 * An idle window (agents connected, heartbeats only), then every agent reports health each
 * interval: one interval to warm up (the collector's first read of each gateway's links and each
 * peer's inner address), then a window as long as the idle one, measured. CPU from /proc, as above.
 */
async function healthPhase(hub: ChildProcess, clients: ChildProcess[], poll: pg.Client, sum: ProgressSum): Promise<HealthResult> {
  const ends = linkPairs(N).length * 2;
  console.log(`
data-plane health: ${N} agents, ${linkPairs(N).length} links (${ends} link ends), a report per agent every ${HEALTH_INTERVAL_MS / 1000} s spread over the interval`);
  await sleep(2000); // the RPC phase's stragglers and garbage
  const pg0 = await pgWrites(poll);
  const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const idleSeconds = HEALTH_SECONDS;
  let c0 = cpuSeconds(hub.pid!);
  let t0 = performance.now();
  await sleep(idleSeconds * 1000);
  const idleCore = (cpuSeconds(hub.pid!) - c0) / ((performance.now() - t0) / 1000);
  console.log(`  idle ${idleSeconds} s (${sum('connected')} agents connected, heartbeats only): hub ${pct(idleCore)} of a core; load average ${load()}`);

  for (const c of clients) c.send({ type: 'health', intervalMs: HEALTH_INTERVAL_MS } satisfies AgentsCommand);
  // The first round is a controller restart's: every gateway's links and every peer's address are
  // read once. Not counted: wait until every agent has reported and the hub has caught up (at most
  // 3 minutes), then one more round so that probe targets settle, and measure from then.
  const warmStart = performance.now();
  c0 = cpuSeconds(hub.pid!);
  const warm0 = await hubStats(hub);
  await sleep(HEALTH_INTERVAL_MS);
  let warm = await hubStats(hub);
  while (performance.now() - warmStart < 180_000 && (sum('healthSent') < N || warm.health.frames - warm.health.settled > 50)) {
    await sleep(500);
    warm = await hubStats(hub);
  }
  const caughtUpS = (performance.now() - warmStart) / 1000;
  await sleep(HEALTH_INTERVAL_MS);
  warm = await hubStats(hub);
  const warmCore = (cpuSeconds(hub.pid!) - c0) / ((performance.now() - warmStart) / 1000);
  const w = (k: keyof HealthCounts) => warm.health[k] - warm0.health[k];
  console.log(
    `  first round + one more (warm-up, not counted): ${((performance.now() - warmStart) / 1000).toFixed(1)} s, the hub caught up after ${caughtUpS.toFixed(1)} s; hub ${pct(warmCore)} of a core; ` +
      `${w('frames')} frames, ${w('linkReads')} link-list reads, ${w('peerReads')} peer-address reads, ${w('rows')} rows written, ${w('failed')} failed; load average ${load()}`,
  );

  const s0 = await hubStats(hub);
  const sent0 = sum('healthSent');
  const targets0 = sum('probeTargets');
  const pgCpu0 = postgresCpuSeconds();
  c0 = cpuSeconds(hub.pid!);
  t0 = performance.now();
  await sleep(HEALTH_SECONDS * 1000);
  const wall = (performance.now() - t0) / 1000;
  const healthCore = (cpuSeconds(hub.pid!) - c0) / wall;
  // Backends that exit meanwhile take their CPU time with them: then the figure means nothing.
  const pgCore = (postgresCpuSeconds() - pgCpu0) / wall;
  const s1 = await hubStats(hub);
  const loadDuring = load();
  for (const c of clients) c.send({ type: 'healthStop' } satisfies AgentsCommand);
  await sleep(300); // the last progress reports
  const d = (k: keyof HealthCounts) => s1.health[k] - s0.health[k];
  const frames = d('frames');
  const expectedFrames = Math.floor((N * wall * 1000) / HEALTH_INTERVAL_MS);
  const rowsPerSecond = d('rows') / wall;
  // The collector writes the latest record per link end at most once per flush, and flushes once
  // per report interval (gateway-hub/health.ts MAX_FLUSH_MS caps the wait at 10 s).
  const flushMs = Math.min(HEALTH_INTERVAL_MS, 10_000);
  const boundRowsPerSecond = ends / (flushMs / 1000);
  const statements = Math.ceil(ends / HEALTH_ROWS_PER_STATEMENT);
  // While only figures move an end is written every third interval (gateway-hub/health.ts FIGURES_EVERY_INTERVALS).
  const steadyRowsPerSecond = ends / ((3 * HEALTH_INTERVAL_MS) / 1000);
  console.log(`  measured ${wall.toFixed(1)} s: ${frames} frames taken by the hub (${sum('healthSent') - sent0} sent by agents, ${expectedFrames} expected; ${d('frames') - d('settled')} more waiting on the database at the end than at the start), ${d('failed')} failed, ${d('ignored')} reports ignored by the trust check, ${d('verdicts')} probe verdicts, ${sum('probeTargets') - targets0} probe-target answers to agents (sent only when an agent probes elsewhere than it should)`);
  console.log(`  hub CPU while reporting: ${pct(healthCore)} of a core; idle: ${pct(idleCore)}; added by health reports: ${pct(healthCore - idleCore)} of a core (PostgreSQL meanwhile: ${pgCore >= 0 ? pct(pgCore) : 'n/a, backends exited'}); load average ${loadDuring}`);
  console.log(
    `  database: ${d('rows')} LinkHealth rows in ${d('flushes')} flushes = ${rowsPerSecond.toFixed(0)} rows/s, ${(d('statements') / wall).toFixed(1)} upsert statements/s; ` +
      `bound from the code: ≤ ${boundRowsPerSecond.toFixed(0)} rows/s (${ends} link ends, at most one row each per ${flushMs / 1000} s flush, ≤ ${statements} statements of ≤ ${HEALTH_ROWS_PER_STATEMENT} rows per flush), ` +
      `~${steadyRowsPerSecond.toFixed(0)} rows/s while only figures move (each end every third interval)`,
  );
  console.log(`  reads meanwhile: ${(d('linkReads') / wall).toFixed(0)} link-list reads/s (store.links.liveWithEndsOf), ${(d('peerReads') / wall).toFixed(1)} peer-address reads/s (store.health.forLinks)`);

  // PostgreSQL's own count, as a cross-check of the hub's: its statistics reach the views only
  // when a backend goes idle (up to 10 s later), so wait for the last flush and then for that.
  await sleep(flushMs + 12_000);
  const pg1 = await pgWrites(poll);
  const s2 = await hubStats(hub);
  console.log(`  PostgreSQL counted ${pg1.rows - pg0.rows} LinkHealth row writes (n_tup_ins + n_tup_upd) over the whole phase, the hub ${s2.health.rows - pg0Rows(warm0)}; ${pg1.commits - pg0.commits} commits in the database meanwhile (presence included)`);
  const memory = procMemory(hub.pid!);
  console.log(`  hub RSS now ${mib(memory.rss)} (V8 heap in use ${mib(s2.heapUsed)}), peak over the run ${mib(memory.peak)}`);
  return { idleCore, healthCore, addedCore: healthCore - idleCore, frames, expectedFrames, failed: d('failed'), ignored: d('ignored'), rowsPerSecond, boundRowsPerSecond, peakRss: memory.peak };
}

/** Rows the hub had written before the phase (none unless an earlier phase reported health). */
const pg0Rows = (before: Extract<HubEvent, { type: 'stats' }>) => before.health.rows;

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
