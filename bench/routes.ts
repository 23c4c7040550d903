// npm run bench:routes — route writes for many links against the Alibaba Cloud fake, configured
// with a per-API limit of L calls/s and asynchronous route entries, driven by TWO controller
// processes that share one budget through Temporal (maxTaskQueueActivitiesPerSecond). Prints the
// total time, its ratio to the ideal N·calls/L, the highest per-second call rate the fake saw for
// each API, throttled calls and failures. Target: ratio ≤ 1.1, observed rate never above L, 0 failures.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AliyunFake, addGatewaySite } from '../test/fakes/aliyun';
import { freePort, startDevServer, waitForPort } from '../controller/temporal-dev';
import { createPgTestDb } from '../test/helpers/db';
import { startTestAgent, type TestAgent } from '../test/helpers/agents';
import { FakeIpsecNetwork } from '../test/helpers/fake-ipsec';
import { newSecretKey } from '../lib/crypto';
import { temporal } from '@temporalio/proto';
import { linkWorkflowId } from '../contracts/link-workflow';
import { cpuSnapshot } from './stats';
import { TEST_CLOUD_ENDPOINT_ALLOW, TEST_PAYLOAD_KEY_HEX } from '../test/helpers/controller';

const L = Number(process.env.BENCH_RATE ?? 10);
const ASYNC_MS = Number(process.env.BENCH_ASYNC_MS ?? 200);
const CLOUD_GATEWAYS = Number(process.env.BENCH_CLOUD_GATEWAYS ?? 20);
const PEERS = Number(process.env.BENCH_PEERS ?? 10);
const N = CLOUD_GATEWAYS * PEERS;
const ROOT = path.resolve(__dirname, '..');
const AK = 'LTAIbenchaccesskey';
const SK = 'bench-secret-0123456789';

async function main(): Promise<void> {
  const fake = await AliyunFake.start({ accessKeys: { [AK]: SK }, asyncDelayMs: ASYNC_MS, limits: { default: { perSecond: L } } });
  const temporalPort = await freePort();
  const temporal = await startDevServer({ port: temporalPort, headless: true });
  const db = await createPgTestDb();
  // This VM's disk turns every commit's fsync into tens of ms; the benchmark measures rate-limit
  // efficiency, not disk latency, so its database does not wait for fsync (durability only).
  await db.db.$executeRawUnsafe(`ALTER DATABASE "${new URL(db.url).pathname.slice(1)}" SET synchronous_commit = off`);
  await db.db.$disconnect();
  const secretKey = newSecretKey();
  const queue = `bench-${randomBytes(3).toString('hex')}`;
  const controllers: Array<{ proc: ChildProcess; url: string; agentUrl: string }> = [];
  const agents: TestAgent[] = [];
  try {
    for (const name of ['ctl-1', 'ctl-2']) {
      const port = await freePort();
      const agentPort = await freePort();
      // BENCH_CPU_PROF=DIR writes each controller's V8 CPU profile there (open in Chrome DevTools).
      const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
      const proc = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(ROOT, 'controller/main.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          AGENT_PORT: String(agentPort),
          AGENT_HOST: '127.0.0.1',
          TEMPORAL_PAYLOAD_KEY: TEST_PAYLOAD_KEY_HEX,
          CLOUD_ENDPOINT_ALLOW: TEST_CLOUD_ENDPOINT_ALLOW.join(','),
          DATABASE_URL: db.url,
          TEMPORAL_ADDRESS: temporal.address,
          TEMPORAL_TASK_QUEUE: queue,
          SECRET_KEY: secretKey,
          HUB_INSTANCE_ID: name,
          // Both processes declare the same budget: L calls/s per API, as the fake enforces.
          CLOUD_RATE_LIMITS: JSON.stringify({ aliyun: { describe: L, routeWrite: L, routeRead: L, securityGroup: L, instance: L } }),
          LOG_LEVEL: 'error',
          DATA_DIR: path.join('/tmp', `bench-routes-${name}`),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      controllers.push({ proc, url: `http://127.0.0.1:${port}`, agentUrl: `http://127.0.0.1:${agentPort}` });
      await waitForPort(port, 60_000);
    }
    const api = async <T>(i: number, method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${controllers[i % 2]!.url}${p}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as T };
    };

    const account = await api<{ id: string }>(0, 'POST', '/api/cloud-accounts', { name: 'bench', provider: 'aliyun', credentials: { accessKeyId: AK, accessKeySecret: SK }, endpoints: { vpc: fake.url, ecs: fake.url } });
    const net = new FakeIpsecNetwork();
    const urls = controllers.map((c) => c.agentUrl);
    const cloud: Array<{ id: string; table: string; instance: string }> = [];
    for (let g = 0; g < CLOUD_GATEWAYS; g++) {
      const ip = `203.0.113.${g + 1}`;
      const site = addGatewaySite(fake, g + 1, { eip: ip });
      const r = await api<{ id: string; agentSecret: string }>(g, 'POST', '/api/gateways', { name: `vpc-${g}`, provider: 'aliyun', region: 'cn-hangzhou', publicIp: ip, account: account.body.id });
      if (r.status !== 201) throw new Error(`gateway: ${r.status} ${JSON.stringify(r.body)}`);
      cloud.push({ id: r.body.id, table: site.systemTableId, instance: site.instanceId });
      agents.push(await startTestAgent({ controllerUrl: urls, gatewayId: r.body.id, secret: r.body.agentSecret, driver: net.driver(ip), publicIp: ip }));
    }
    const peers: string[] = [];
    for (let p = 0; p < PEERS; p++) {
      const ip = `198.51.100.${p + 1}`;
      const r = await api<{ id: string; agentSecret: string }>(p, 'POST', '/api/gateways', { name: `dc-${p}`, provider: 'onprem', cidrs: [`192.168.${p}.0/24`], publicIp: ip });
      peers.push(r.body.id);
      agents.push(await startTestAgent({ controllerUrl: urls, gatewayId: r.body.id, secret: r.body.agentSecret, driver: net.driver(ip), publicIp: ip }));
    }
    // Wait for discovery of every cloud gateway and every agent online.
    for (const id of [...cloud.map((c) => c.id), ...peers]) {
      for (;;) {
        const g = await api<{ state: string; online: boolean; stateReason: string | null }>(0, 'GET', `/api/gateways/${id}`);
        if (g.body.state === 'failed') throw new Error(`discovery failed: ${g.body.stateReason}`);
        if (g.body.state === 'ready' && g.body.online) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // What the stack spends doing nothing (pollers, heartbeats, presence, health frames): measured
    // over a quiet spell, so the per-link figure below can be read as idle + work.
    const idleMs = Number(process.env.BENCH_IDLE_MS ?? 5000);
    const idleControllers = cpuSnapshot(controllers.map((c) => c.proc.pid));
    const idleTemporal = cpuSnapshot([temporal.pid]);
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = { controllers: idleControllers() / (idleMs / 1000), temporal: idleTemporal() / (idleMs / 1000) };
    const callsBefore = fake.calls.length;
    const controllerCpu = cpuSnapshot(controllers.map((c) => c.proc.pid));
    const temporalCpu = cpuSnapshot([temporal.pid]);
    const t0 = Date.now();
    const links: string[] = [];
    const pairs = cloud.flatMap((c) => peers.map((p) => ({ a: c.id, b: p })));
    // Operators (or a script) ask for many links at once: 16 requests in flight, over both processes.
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < pairs.length) {
          const i = next++;
          const r = await api<{ id: string }>(i, 'POST', '/api/links', pairs[i]);
          if (r.status !== 202) throw new Error(`link: ${r.status} ${JSON.stringify(r.body)}`);
          links.push(r.body.id);
        }
      }),
    );
    const postedMs = Date.now() - t0;
    // Done when every expected route is Available in the fake.
    const expected = N;
    for (;;) {
      const available = cloud.reduce((n, c) => n + fake.routeEntries(c.table).filter((e) => e.nextHopId === c.instance && e.status === 'Available').length, 0);
      if (available >= expected) break;
      if (Date.now() - t0 > 15 * 60_000) throw new Error(`only ${available}/${expected} routes after 15 minutes`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const totalMs = Date.now() - t0;
    let failed = 0;
    for (const id of links) {
      for (;;) {
        const l = await api<{ state: string }>(0, 'GET', `/api/links/${id}`);
        if (l.body.state === 'failed') failed++;
        if (l.body.state === 'up' || l.body.state === 'failed') break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const cpu = { controllers: controllerCpu(), temporal: temporalCpu() };
    const calls = fake.calls.slice(callsBefore);
    const count = (api: string, ok?: boolean) => calls.filter((c) => c.api === api && (ok === undefined || c.ok === ok)).length;
    // The ideal is the unbatched one: every route its own CreateRouteEntry at L/s. Batching (one
    // CreateRouteEntries per table while others wait) can beat it; the calls actually made are shown.
    const creates = N;
    const idealMs = (creates / L) * 1000;
    const batchCalls = calls.filter((c) => c.api === 'CreateRouteEntries' && c.ok).length;
    console.log(`\n(database: PostgreSQL with synchronous_commit=off; Temporal dev server in memory)`);
    console.log(`bench:routes — ${N} links (${CLOUD_GATEWAYS} Alibaba VPCs × ${PEERS} on-prem peers), 2 controller processes, fake limit L=${L}/s per API, async delay ${ASYNC_MS} ms`);
    console.log(`  links posted in            ${postedMs} ms`);
    console.log(`  all routes Available after ${totalMs} ms`);
    console.log(`  ideal N·calls/L            ${idealMs.toFixed(0)} ms (${creates} routes, one CreateRouteEntry each, at ${L}/s)`);
    console.log(`  route writes made          ${count('CreateRouteEntry', true)} CreateRouteEntry + ${batchCalls} CreateRouteEntries (batches)`);
    console.log(`  security-group floor       ${((count('AuthorizeSecurityGroup', true) / L) * 1000).toFixed(0)} ms (${count('AuthorizeSecurityGroup', true)} rules at ${L}/s: no run can be faster)`);
    console.log(`  ratio                      ${(totalMs / idealMs).toFixed(3)}  (target ≤ 1.1)`);
    // From the first POST until every link is up: the controllers and the Temporal server spent per link.
    console.log(`  CPU per link               ${(((cpu.controllers + cpu.temporal) / N) * 1000).toFixed(1)} ms (controllers ${((cpu.controllers / N) * 1000).toFixed(1)} ms, Temporal server ${((cpu.temporal / N) * 1000).toFixed(1)} ms; ${(cpu.controllers + cpu.temporal).toFixed(1)} CPU s in all)`);
    const idleShare = ((idle.controllers + idle.temporal) * (totalMs / 1000)) / N;
    console.log(`  of which idle             ${(idleShare * 1000).toFixed(1)} ms (idle: controllers ${(idle.controllers * 100).toFixed(1)} % of a core, Temporal server ${(idle.temporal * 100).toFixed(1)} %, over the ${(totalMs / 1000).toFixed(1)} s run)`);
    for (const a of ['CreateRouteEntry', 'CreateRouteEntries', 'DescribeRouteEntryList', 'AuthorizeSecurityGroup', 'DescribeInstances']) {
      console.log(`  ${a.padEnd(26)} calls ${String(count(a)).padStart(4)}   max per 1 s window ${fake.maxRate(a)} (limit ${L})`);
    }
    for (const a of ['AuthorizeSecurityGroup', 'CreateRouteEntry', 'CreateRouteEntries']) {
      const ts = calls.filter((c) => c.api === a && c.ok).map((c) => c.at - t0);
      if (!ts.length) continue;
      console.log(`  ${a.padEnd(26)} first at ${Math.min(...ts)} ms, last at ${Math.max(...ts)} ms after the first POST`);
    }
    await printTableBreakdown(temporal.address, cloud.map((c) => c.table), account.body.id);
    await printLinkBreakdown(temporal.address, links, t0);
    await printHistoryLoad(temporal.address, N);
    const throttled = calls.filter((c) => c.code === 'Throttling.User').length;
    console.log(`  throttled responses        ${throttled}`);
    console.log(`  failed links               ${failed}`);
    const maxSeen = Math.max(...['CreateRouteEntry', 'CreateRouteEntries', 'DescribeRouteEntryList', 'AuthorizeSecurityGroup'].map((a) => fake.maxRate(a)));
    console.log(`target: ratio ≤ 1.1, rate ≤ L, 0 failures: ${totalMs / idealMs <= 1.1 && maxSeen <= L && failed === 0 ? 'MET' : 'NOT MET'}`);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    for (const c of controllers) c.proc.kill('SIGTERM');
    await Promise.all(controllers.map((c) => new Promise((r) => (c.proc.exitCode !== null ? r(null) : c.proc.once('exit', r)))));
    await temporal.stop();
    await db.cleanup();
    await fake.stop();
  }
}

/** Where a route table's time goes, from its workflows' histories (mean per operation). */
async function printTableBreakdown(address: string, tables: string[], accountId: string): Promise<void> {
  const { Connection, Client } = await import('@temporalio/client');
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  const acc: Record<string, number[]> = {};
  const add = (k: string, v: number) => (acc[k] ??= []).push(v);
  for (const table of tables.slice(0, 5)) {
    const h = await client.workflow.getHandle(`rtb-aliyun-${accountId}-cn-hangzhou-${table}`).fetchHistory().catch(() => undefined);
    const sched = new Map<number, { type: string; at: number }>();
    const started = new Map<number, number>();
    let lastDone = 0;
    let wftScheduled = 0;
    let wftStarted = 0;
    for (const e of h?.events ?? []) {
      const at = ms(e.eventTime);
      if (e.workflowTaskScheduledEventAttributes) wftScheduled = at;
      if (e.workflowTaskStartedEventAttributes) {
        wftStarted = at;
        add('workflow task: waiting to start', at - wftScheduled);
      }
      if (e.workflowTaskCompletedEventAttributes) add('workflow task: running', at - wftStarted);
      if (e.activityTaskScheduledEventAttributes) {
        sched.set(Number(e.eventId), { type: e.activityTaskScheduledEventAttributes.activityType!.name!, at });
        if (lastDone) add('gap: previous result → next activity scheduled', at - lastDone);
      }
      if (e.activityTaskStartedEventAttributes) started.set(Number(e.activityTaskStartedEventAttributes.scheduledEventId), at);
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const s = sched.get(Number(done.scheduledEventId))!;
        const st = started.get(Number(done.scheduledEventId)) ?? s.at;
        add(`${s.type}: waiting in the budget queue`, st - s.at);
        add(`${s.type}: running (pacer wait + call)`, at - st);
        lastDone = at;
      }
      if (e.timerStartedEventAttributes && Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0) < 60) add('timer', Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0) * 1000 + Math.floor((e.timerStartedEventAttributes.startToFireTimeout?.nanos ?? 0) / 1e6));
    }
  }
  await connection.close();
  console.log('  route-table workflows (first 5 tables), mean per step:');
  for (const [k, v] of Object.entries(acc)) console.log(`    ${k.padEnd(52)} ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(0)} ms (n=${v.length})`);
}

/**
 * Where a link's time goes before its routes are written, from its workflow's history: when each
 * step happened (percentiles over every link, ms after the first POST) and how long each step's
 * activities waited to start and ran (means).
 */
async function printLinkBreakdown(address: string, links: string[], t0: number): Promise<void> {
  const { Connection, Client } = await import('@temporalio/client');
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  const at: Record<string, number[]> = {};
  const took: Record<string, number[]> = {};
  const eventTypes = new Map<string, number>();
  const mark = (k: string, v: number) => (at[k] ??= []).push(v - t0);
  const add = (k: string, v: number) => (took[k] ??= []).push(v);
  await Promise.all(
    links.map(async (id) => {
      const h = await client.workflow.getHandle(linkWorkflowId(id)).fetchHistory().catch(() => undefined);
      const sched = new Map<number, { type: string; at: number }>();
      const started = new Map<number, number>();
      const firstDone = new Set<string>();
      let wftScheduled = 0;
      let wftStarted = 0;
      for (const e of h?.events ?? []) {
        const t = ms(e.eventTime);
        const type = eventTypeName(e);
        eventTypes.set(type, (eventTypes.get(type) ?? 0) + 1);
        if (e.workflowTaskScheduledEventAttributes) wftScheduled = t;
        if (e.workflowTaskStartedEventAttributes) {
          wftStarted = t;
          add('workflow task: waiting to start', t - wftScheduled);
        }
        if (e.workflowTaskCompletedEventAttributes) add('workflow task: running', t - wftStarted);
        if (e.workflowExecutionStartedEventAttributes) mark('workflow started', t);
        if (e.activityTaskScheduledEventAttributes) sched.set(Number(e.eventId), { type: e.activityTaskScheduledEventAttributes.activityType!.name!, at: t });
        if (e.activityTaskStartedEventAttributes) started.set(Number(e.activityTaskStartedEventAttributes.scheduledEventId), t);
        const done = e.activityTaskCompletedEventAttributes;
        if (done) {
          const s = sched.get(Number(done.scheduledEventId))!;
          const st = started.get(Number(done.scheduledEventId)) ?? s.at;
          add(`${s.type}: waiting to start`, st - s.at);
          add(`${s.type}: running`, t - st);
          if (!firstDone.has(s.type)) mark(`${s.type} done`, t);
          firstDone.add(s.type);
        }
        const sig = e.workflowExecutionSignaledEventAttributes?.signalName;
        if (sig && !firstDone.has(sig)) {
          mark(`signal ${sig}`, t);
          firstDone.add(sig);
        }
      }
    }),
  );
  await connection.close();
  const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((v.length * p) / 100))]!;
  console.log(`  link workflows (${links.length}), ms after the first POST: p50 / p95 / max`);
  for (const [k, v] of Object.entries(at).sort((x, y) => pct(x[1], 50) - pct(y[1], 50))) console.log(`    ${k.padEnd(40)} ${pct(v, 50)} / ${pct(v, 95)} / ${Math.max(...v)} (n=${v.length})`);
  console.log('  link workflow tasks and activities, mean wait to start / mean run:');
  for (const k of Object.keys(took).filter((x) => x.endsWith('waiting to start'))) {
    const type = k.split(':')[0]!;
    const mean = (v: number[] = []) => (v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)).toFixed(0);
    console.log(`    ${type.padEnd(40)} ${mean(took[k])} / ${mean(took[`${type}: running`])} ms (n=${took[k]!.length})`);
  }
  console.log('  link workflow history events by type, mean per link:');
  for (const [type, n] of [...eventTypes].sort((x, y) => y[1] - x[1])) console.log(`    ${type.padEnd(40)} ${(n / links.length).toFixed(2)}`);
}

/** An event's type as the API names it (EVENT_TYPE_WORKFLOW_TASK_SCHEDULED → WorkflowTaskScheduled). */
function eventTypeName(event: temporal.api.history.v1.IHistoryEvent): string {
  const name = temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  return name.replace(/^EVENT_TYPE_/, '').toLowerCase().replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

/**
 * What the Temporal server was given to do, per link: history events by workflow type (every
 * event is a write in the server's database, and most also a task to match), counted from every
 * workflow in the namespace. Deterministic where CPU seconds are not: a change that saves server
 * CPU shows here first.
 */
async function printHistoryLoad(address: string, links: number): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address });
  const byType = new Map<string, { workflows: number; events: number; bytes: number }>();
  // The raw list call: the client's list() decodes memos, which the controllers sealed with their payload key.
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await connection.workflowService.listWorkflowExecutions({ namespace: 'default', pageSize: 1000, ...(nextPageToken ? { nextPageToken } : {}) });
    // A list gives the history length of closed workflows only; describe gives it for running ones.
    const described = await Promise.all(
      page.executions.map((info) => connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: info.execution })),
    );
    for (const d of described) {
      const info = d.workflowExecutionInfo;
      const type = info?.type?.name ?? '(unknown)';
      const entry = byType.get(type) ?? { workflows: 0, events: 0, bytes: 0 };
      entry.workflows++;
      entry.events += Number(info?.historyLength ?? 0);
      entry.bytes += Number(info?.historySizeBytes ?? 0);
      byType.set(type, entry);
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  await connection.close();
  const total = [...byType.values()].reduce((sum, e) => sum + e.events, 0);
  console.log(`  Temporal history events per link: ${(total / links).toFixed(1)} (all workflows, discovery included)`);
  for (const [type, e] of [...byType].sort((x, y) => y[1].events - x[1].events)) {
    console.log(`    ${type.padEnd(40)} ${(e.events / links).toFixed(1)} per link (${e.workflows} workflows, ${e.events} events, ${(e.bytes / links / 1024).toFixed(1)} KiB of history per link)`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
