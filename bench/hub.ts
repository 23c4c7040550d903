// npm run bench:hub — N simulated agents (the production agent session, no strongSwan) spread over
// several client processes dial one hub process at once, as after a controller restart. Prints the
// time until the database (a scratch PostgreSQL database) records all N online, the hub's resident
// memory, and `status` RPC latency under a steady open-loop request rate.
// Targets on a 2-core machine: 18,000 online within 30 s in ≤ 512 MiB RSS; p99 ≤ 20 ms at 2,000/s.
// Knobs (environment): BENCH_AGENTS (18000), BENCH_CLIENTS (4 agent processes), BENCH_RPC_RATE
// (2000/s), BENCH_RPC_SECONDS (10), BENCH_STORM_TIMEOUT_MS (120000), BENCH_LISTEN_BACKLOG (the hub
// server's listen backlog, default AGENT_LISTEN_BACKLOG), TEST_PG_URL (the PostgreSQL server for the
// scratch database), BENCH_HUB_NODE_ARGS / BENCH_AGENTS_NODE_ARGS (extra node flags
// for the hub process / the first agent process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { hashSecret } from '../lib/crypto';
import { createPgTestDb, pgAvailable } from '../test/helpers/db';
import { percentile } from './stats';
import { gatewayIdAt, secretFor, type AgentsCommand, type AgentsEvent, type HubCommand, type HubEvent, type RpcSummary } from './hub/fleet';

const N = Number(process.env.BENCH_AGENTS ?? 18_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const RATE = Number(process.env.BENCH_RPC_RATE ?? 2_000);
const RPC_SECONDS = Number(process.env.BENCH_RPC_SECONDS ?? 10);
const STORM_LIMIT_MS = Number(process.env.BENCH_STORM_TIMEOUT_MS ?? 120_000);
const TARGET = { n: 18_000, stormMs: 30_000, rssMiB: 512, p99Ms: 20, rate: 2_000 };
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
         SELECT id, id, 'onprem', '["10.0.0.0/24"]', h, now() FROM unnest($1::text[], $2::text[]) AS t(id, h)`,
        [ids, ids.map((id) => hashSecret(secretFor(seed, id)))],
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
        { BENCH_HUB_URL: `ws://127.0.0.1:${port}`, BENCH_SEED: seed, BENCH_FROM: String(from), BENCH_COUNT: String(count) },
        k === 0 ? (process.env.BENCH_AGENTS_NODE_ARGS ?? '').split(' ').filter(Boolean) : [],
      );
      c.on('message', (m: AgentsEvent) => m.type === 'progress' && progress.set(c, m));
      clients.push(c);
      children.push(c);
    }
    await Promise.all(clients.map((c) => nextMessage(c, 'ready')));
    const sum = (k: 'welcomed' | 'connected' | 'failedAttempts' | 'rejected' | 'served') => [...progress.values()].reduce((n, p) => n + p[k], 0);

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
    report(summary, { stormMs, stormOk, online, rss: end.rss, peak: end.peak, heapUsed: stats.heapUsed, connected: stats.ready, rpcCpu, rpcAll, served });
  } finally {
    stopAll();
    await poll.end().catch(() => undefined);
    await sleep(200);
    await testDb.cleanup();
  }
}

function report(s: RpcSummary, m: { stormMs: number; stormOk: boolean; online: number; rss: number; peak: number; heapUsed: number; connected: number; rpcCpu: number; rpcAll: number; served: number }): void {
  const lat = s.latenciesMs;
  const f = (v: number) => `${v.toFixed(1)} ms`;
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const achieved = (lat.length + errors) / (s.durationMs / 1000);
  console.log(`\nRPC 'status' at ${RATE}/s for ${RPC_SECONDS} s (open loop, random gateway of ${m.connected}, latency from scheduled time):`);
  console.log(`  ${lat.length} ok, ${errors} errors${errors ? ` ${JSON.stringify(s.errors)}` : ''}, offered ${achieved.toFixed(0)}/s, ${m.served} answered by agents, generator lag max ${f(s.maxIssueLagMs)}`);
  console.log(`  p50 ${f(percentile(lat, 50))}   p95 ${f(percentile(lat, 95))}   p99 ${f(percentile(lat, 99))}   max ${f(Math.max(...lat))}`);
  const pct = (cpuSeconds: number) => `${((100 * cpuSeconds) / (s.durationMs / 1000)).toFixed(0)}%`;
  console.log(`  CPU meanwhile: hub ${pct(m.rpcCpu)} of one core (heartbeats included); the whole machine ${pct(m.rpcAll)} of one core, of ${os.cpus().length * 100}%`);
  console.log(`hub RSS at the end: ${mib(m.rss)} (V8 heap in use ${mib(m.heapUsed)}), peak over the run ${mib(m.peak)}`);

  const p99 = percentile(lat, 99);
  console.log('\ntargets (2-core machine):');
  console.log(`  ${N} agents online within ${TARGET.stormMs / 1000} s: ${(m.stormMs / 1000).toFixed(1)} s → ${verdict(m.stormOk && m.stormMs <= TARGET.stormMs && N >= TARGET.n)}${N < TARGET.n ? ` (only ${N} agents; the target is for ${TARGET.n})` : ''}`);
  console.log(`  hub RSS ≤ ${TARGET.rssMiB} MiB (peak): ${mib(m.peak)} → ${verdict(m.peak <= TARGET.rssMiB * MiB)}`);
  console.log(`  RPC p99 ≤ ${TARGET.p99Ms} ms at ${TARGET.rate}/s, no errors: ${f(p99)}, ${errors} errors → ${verdict(p99 <= TARGET.p99Ms && errors === 0 && RATE >= TARGET.rate)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
