// Prometheus metrics through the real controller: the exposition parses strictly, and the numbers
// move when real things happen (an agent connects through the hub, a wrong secret is refused, a
// link is created, changed and deleted through the API), /metrics takes the API token on the API
// listener and none on METRICS_PORT, and the agent process serves its own on AGENT_METRICS_ADDR.
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { missing, withStack, type GatewayOut } from '../helpers/with-stack';
import type { GatewayBody, LinkBody, LinkWithEventsBody } from '../helpers/api-harness';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prom-text';
import { startRuntime } from '../../controller/runtime';
import { testPayloadKey, TEST_CLOUD_ENDPOINT_ALLOW } from '../helpers/controller';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { AGENT_PATH } from '../../protocol/messages';

const TOKEN = 'metrics-test-token-0123456789';
const ROOT = path.resolve(__dirname, '..', '..');
const needs = { controller: { apiToken: TOKEN }, agents: true, db: 'postgresql', name: 'metrics' } as const;

async function scrape(url: string, token?: string): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

describe.skipIf(missing(needs, 'metrics tests'))('controller metrics (real controller, hub and workflows)', () => {
  const s = withStack(needs);
  const metrics = () => scrape(s.ctl.url, TOKEN);
  const value = async (name: string, labels: Record<string, string> = {}) => sampleValue(await metrics(), name, labels) ?? 0;

  it('serves a strictly valid exposition with every family, process metrics included', async () => {
    const families = await metrics();
    for (const name of [
      'ipsecmesh_links',
      'ipsecmesh_hub_agents_connected',
      'ipsecmesh_hub_rpc_duration_seconds',
      'ipsecmesh_hub_auth_failures_total',
      'ipsecmesh_hub_hellos_total',
      'ipsecmesh_hub_disconnects_total',
      'ipsecmesh_cloud_api_calls_total',
      'ipsecmesh_cloud_pacer_wait_seconds',
      'ipsecmesh_operations_started_total',
      'ipsecmesh_operations_completed_total',
      'ipsecmesh_operations_failed_total',
      'ipsecmesh_operation_duration_seconds',
      'ipsecmesh_link_rx_bytes_total',
      'ipsecmesh_process_cpu_seconds_total',
      'ipsecmesh_process_resident_memory_bytes',
      'ipsecmesh_nodejs_eventloop_lag_seconds',
    ]) {
      expect(families.has(name), name).toBe(true);
    }
    // Every family is ours; no label names an agent or a gateway.
    for (const f of families.values()) {
      expect(f.name.startsWith('ipsecmesh_')).toBe(true);
      for (const sample of f.samples) expect(Object.keys(sample.labels)).not.toContain('gateway');
    }
    // The Grafana dashboard asks only for series the controller serves.
    const dashboard = await readFile(path.join(ROOT, 'deploy/grafana/ipsec-mesh.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/ipsecmesh_[a-z0-9_]+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, '')));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(families.has(name), `dashboard uses ${name}`).toBe(true);
    expect(families.get('ipsecmesh_links')!.samples.map((x) => x.labels.state).sort()).toEqual(['degraded', 'deleted', 'deleting', 'failed', 'provisioning', 'up', 'updating']);
  });

  it('counts an agent connecting, a refused secret and a disconnect', async () => {
    const g = await s.gateway<GatewayOut>('m-hub', ['10.71.0.0/16']);
    const before = { connected: await value('ipsecmesh_hub_agents_connected'), hellos: await value('ipsecmesh_hub_hellos_total'), wrong: await value('ipsecmesh_hub_auth_failures_total', { reason: 'wrong_secret' }) };
    const agent = await s.agent(g, '198.51.100.171');
    expect(await value('ipsecmesh_hub_agents_connected')).toBe(before.connected + 1);
    expect(await value('ipsecmesh_hub_hellos_total')).toBe(before.hellos + 1);
    // The controller reconciles a new agent at once: an RPC with its latency.
    await expect.poll(() => value('ipsecmesh_hub_rpc_duration_seconds_count', { method: 'reconcile', outcome: 'ok' })).toBeGreaterThanOrEqual(1);

    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${s.ctl.agentUrl.replace(/^http/, 'ws')}${AGENT_PATH}`, { headers: { authorization: `Bearer ${g.id}:${'x'.repeat(32)}` } });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('a wrong secret was let in')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
    expect(await value('ipsecmesh_hub_auth_failures_total', { reason: 'wrong_secret' })).toBe(before.wrong + 1);

    const normal = await value('ipsecmesh_hub_disconnects_total', { reason: 'normal' });
    await agent.stop();
    await expect.poll(() => value('ipsecmesh_hub_agents_connected')).toBe(before.connected);
    expect(await value('ipsecmesh_hub_disconnects_total', { reason: 'normal' })).toBe(normal + 1);
  });

  it('counts a link created, changed and deleted through the API once each, with durations', async () => {
    const a = await s.gateway<GatewayOut>('m-a', ['10.81.0.0/16']);
    const b = await s.gateway<GatewayOut>('m-b', ['10.82.0.0/16']);
    await s.agent(a, '198.51.100.181');
    await s.agent(b, '198.51.100.182');
    const base = await metrics();
    const delta = async (name: string, labels: Record<string, string>) => (await value(name, labels)) - (sampleValue(base, name, labels) ?? 0);
    const linkOf = async (id: string) => (await s.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;

    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id, cidrs: { a: ['10.81.1.0/24'], b: ['10.82.1.0/24'] } });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 20_000 }).toBe('up');
    expect(await delta('ipsecmesh_operations_started_total', { kind: 'link_create' })).toBe(1);
    expect(await delta('ipsecmesh_operations_completed_total', { kind: 'link_create' })).toBe(1);
    expect(await delta('ipsecmesh_operation_duration_seconds_count', { kind: 'link_create', outcome: 'completed' })).toBe(1);
    expect(await delta('ipsecmesh_operation_duration_seconds_sum', { kind: 'link_create', outcome: 'completed' })).toBeGreaterThan(0);
    // Both ends got their config: applyLink answered by two agents.
    expect(await delta('ipsecmesh_hub_rpc_duration_seconds_count', { method: 'applyLink', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    // Links by state come from the database, cached a few seconds.
    await expect.poll(() => value('ipsecmesh_links', { state: 'up' }), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);

    expect((await s.api('PATCH', `/api/links/${r.body.id}`, { cidrs: { a: ['10.81.1.0/24', '10.81.2.0/24'] } })).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 20_000 }).toBe('up');
    await expect.poll(() => delta('ipsecmesh_operations_completed_total', { kind: 'cidr_change' })).toBe(1);
    expect(await delta('ipsecmesh_operations_started_total', { kind: 'cidr_change' })).toBe(1);
    expect(await delta('ipsecmesh_operation_duration_seconds_count', { kind: 'cidr_change', outcome: 'completed' })).toBe(1);
    expect(await delta('ipsecmesh_operations_completed_total', { kind: 'recovery' })).toBe(0);

    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    // A repeated DELETE is accepted again but starts nothing new.
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 20_000 }).toBe('deleted');
    await expect.poll(() => delta('ipsecmesh_operations_completed_total', { kind: 'link_delete' })).toBe(1);
    expect(await delta('ipsecmesh_operations_started_total', { kind: 'link_delete' })).toBe(1);
    expect(await delta('ipsecmesh_operations_completed_total', { kind: 'link_create' })).toBe(1);
    for (const kind of ['link_create', 'cidr_change', 'link_delete']) expect(await delta('ipsecmesh_operations_failed_total', { kind })).toBe(0);
  });

  it('asks for the API token on the API listener, not on METRICS_PORT', async () => {
    expect((await fetch(`${s.ctl.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.ctl.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-0000000' } })).status).toBe(401);
    const rt = await startRuntime({
      roles: ['api'],
      api: { host: '127.0.0.1', port: 0 },
      agent: { host: '127.0.0.1', port: 0 },
      metricsListener: { host: '127.0.0.1', port: 0 },
      databaseUrl: s.db.url,
      temporalAddress: s.temporal.address,
      temporalNamespace: s.temporal.namespace,
      payloadKey: testPayloadKey(),
      cloudEndpointAllow: TEST_CLOUD_ENDPOINT_ALLOW,
      apiToken: TOKEN,
      taskQueue: s.taskQueue,
      instanceId: 'metrics-port',
      secretKey: parseSecretKey(newSecretKey()),
      heartbeatMs: 1000,
      rpcTimeoutMs: 5000,
      helloTimeoutMs: 5000,
      log: silentLogger,
    });
    try {
      expect(rt.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const families = await scrape(rt.metricsUrl!);
      // Links by state are the deployment's, whichever controller answers.
      expect(families.has('ipsecmesh_links')).toBe(true);
      expect((await fetch(`${rt.url!}/metrics`)).status).toBe(401);
      expect((await fetch(`${rt.metricsUrl!}/other`)).status).toBe(404);
      expect((await fetch(`${rt.metricsUrl!}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await rt.close();
    }
  });

  describe('the agent process', () => {
    const children: ChildProcess[] = [];
    const runAgent = async (g: GatewayOut, env: Record<string, string>): Promise<{ child: ChildProcess; stateDir: string; lines: () => string[] }> => {
      const stateDir = await mkdtemp(path.join(tmpdir(), 'agent-metrics-'));
      let out = '';
      const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          CONTROLLER_URL: s.ctl.agentUrl,
          GATEWAY_ID: g.id,
          GATEWAY_SECRET: g.agentSecret,
          STATE_DIR: stateDir,
          VICI_SOCKET: path.join(stateDir, 'no-charon.vici'),
          PUBLIC_IP: '198.51.100.190',
          CLOUD_METADATA: 'none',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      s.onClose(async () => {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
        await rm(stateDir, { recursive: true, force: true });
      });
      return { child, stateDir, lines: () => out.split('\n') };
    };
    const online = (g: GatewayOut) => expect.poll(async () => (await s.api<GatewayBody>('GET', `/api/gateways/${g.id}`)).body.online, { timeout: 20_000 }).toBe(true);

    it('serves nothing by default', async () => {
      const g = await s.gateway<GatewayOut>('m-agent-off', ['10.91.0.0/16']);
      const agent = await runAgent(g, {});
      await online(g);
      expect(await listeningSockets(agent.child.pid!)).toEqual([]);
      expect(agent.lines().some((l) => l.includes('metrics served'))).toBe(false);
      agent.child.kill('SIGTERM');
    });

    it('serves its metrics on AGENT_METRICS_ADDR', async () => {
      const g = await s.gateway<GatewayOut>('m-agent-on', ['10.92.0.0/16']);
      const agent = await runAgent(g, { AGENT_METRICS_ADDR: '127.0.0.1:0' });
      await online(g);
      let url = '';
      await expect.poll(() => (url = agent.lines().map((l) => /"url":"(http:[^"]+)\/metrics"/.exec(l)?.[1]).find(Boolean) ?? '')).not.toBe('');
      await expect.poll(async () => sampleValue(await scrape(url), 'ipsecmesh_agent_connected')).toBe(1);
      // The controller reconciles every agent that says hello: one request served.
      await expect.poll(async () => sampleValue(await scrape(url), 'ipsecmesh_agent_rpc_handled_total', { method: 'reconcile', outcome: 'ok' }) ?? 0).toBeGreaterThanOrEqual(1);
      const families = await scrape(url);
      for (const name of ['ipsecmesh_agent_reconnects_total', 'ipsecmesh_agent_tunnels_configured', 'ipsecmesh_agent_tunnels_up', 'ipsecmesh_agent_rpc_duration_seconds', 'ipsecmesh_agent_process_cpu_seconds_total']) {
        expect(families.has(name), name).toBe(true);
      }
      expect(sampleValue(families, 'ipsecmesh_agent_tunnels_configured')).toBe(0);
      expect(await listeningSockets(agent.child.pid!)).toHaveLength(1);
    });
  });
});

/** TCP sockets a process listens on: its socket fds matched against the kernel's listening sockets (state 0A). */
async function listeningSockets(pid: number): Promise<string[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const listening: string[] = [];
  for (const file of ['tcp', 'tcp6']) {
    const table = await readFile(`/proc/${pid}/net/${file}`, 'utf8').catch(() => '');
    for (const row of table.split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) listening.push(cols[1]!);
    }
  }
  return listening;
}
