// Data-plane health over the fake IPsec network, with real agents, a real hub and SQLite: each
// agent's frame reaches the store and /metrics, probes run through "the tunnel" (loopback inner
// addresses, 127.1.0.0/24 and 127.2.0.0/24, stand in for the LANs), a gateway's report on a link
// it is not an end of is ignored, and writes stay at one row per link end and interval (figures
// alone every third interval).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent';
import { StateStore } from '../../agent/state';
import { HealthCollector, type ProbeVerdict } from '../../gateway-hub/health';
import { asGatewayId } from '../../protocol/ids';
import type { LinkConfig } from '../../protocol/messages';
import { hashSecret } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { ControllerMetrics } from '../../lib/metrics';
import { createStore, type HealthStore, type LinkHealthRecord, type LinkWithEnds, type Store } from '../../store';
import { Link } from '../../api/schemas/links';
import { linkView } from '../../api/views';
import { createPgTestDb, createSqliteTestDb, pgAvailable } from '../helpers/db';
import { removeDir, startAgentHub, type AgentHub } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { Db } from '../../db';

const SECRET = 'h'.repeat(43);
const INTERVAL_MS = 150;
const PROBE_PORT = 41_000 + Math.floor(Math.random() * 10_000);
const CIDRS: Record<string, string> = { gwa: '127.1.0.0/24', gwb: '127.2.0.0/24', gwc: '127.3.0.0/24' };
const INNER: Record<string, string> = { gwa: '127.1.0.1', gwb: '127.2.0.1', gwc: '127.3.0.1' };
const PUBLIC: Record<string, string> = { gwa: '198.51.100.1', gwb: '198.51.100.2', gwc: '198.51.100.3' };

let db: Db;
let cleanupDb: () => Promise<void>;
let store: Store;
let hub: AgentHub;
let collector: HealthCollector;
const metrics = new ControllerMetrics();
const verdicts: ProbeVerdict[] = [];
const writes = { calls: 0, rows: 0 };
const ipsec = new FakeIpsecNetwork();
const agents = new Map<string, { agent: Agent; done: Promise<void> }>();
/** Each gateway's STATE_DIR, kept across restarts (the agent restores its links from it). */
const dirs = new Map<string, string>();

function config(linkId: string, self: string, peer: string, initiator: boolean): LinkConfig {
  return { name: `link-${linkId}`, version: 1, localId: `gw-${self}`, remoteId: `gw-${peer}`, localAddrs: ['%any'], remoteAddrs: [PUBLIC[peer]!], localTs: [CIDRS[self]!], remoteTs: [CIDRS[peer]!], initiator, psk: 'p'.repeat(32) };
}

async function startAgent(gatewayId: string): Promise<void> {
  const dir = dirs.get(gatewayId) ?? (await mkdtemp(path.join(tmpdir(), 'agent-health-')));
  dirs.set(gatewayId, dir);
  const agent = new Agent({
    driver: ipsec.drivers.get(PUBLIC[gatewayId]!) ?? ipsec.driver(PUBLIC[gatewayId]!),
    state: new StateStore(dir),
    log: silentLogger,
    session: { controllerUrls: [hub.url], gatewayId, secret: SECRET, stateDir: dir, proxy: {}, tls: { pins: [] }, backoff: { minMs: 50, maxMs: 500 } },
    health: { intervalMs: INTERVAL_MS, probePort: PROBE_PORT, addrs: () => [INNER[gatewayId]!] },
  });
  const done = agent.run();
  done.catch(() => undefined);
  agents.set(gatewayId, { agent, done });
  for (const until = Date.now() + 5000; !hub.hub.isConnected(asGatewayId(gatewayId)); ) {
    if (Date.now() > until) throw new Error(`agent ${gatewayId} did not connect`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopAgent(gatewayId: string): Promise<void> {
  const a = agents.get(gatewayId);
  agents.delete(gatewayId);
  await a?.agent.stop();
}

const rows = async (linkId: string) => store.health.forLinks([linkId]);
const row = async (linkId: string, gatewayId: string) => (await rows(linkId)).find((r) => r.gatewayId === gatewayId);

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  store = createStore(db);
  for (const id of ['gwa', 'gwb', 'gwc']) await db.gateway.create({ data: { id, name: `site-${id}`, provider: 'onprem', cidrs: JSON.stringify([CIDRS[id]]), secretHash: hashSecret(SECRET) } });
  const link = (id: string, a: string, b: string) =>
    db.link.create({ data: { id, aId: a, bId: b, activePairKey: `${a}|${b}`, state: 'up', aCidrs: JSON.stringify([CIDRS[a]]), bCidrs: JSON.stringify([CIDRS[b]]), pskCiphertext: 'x', workflowId: `link-${id}` } });
  await link('L1', 'gwa', 'gwb');
  await link('L2', 'gwb', 'gwc');
  const counting: HealthStore = {
    putMany: async (records) => {
      writes.calls++;
      writes.rows += records.length;
      await store.health.putMany(records);
    },
    forLinks: (ids) => store.health.forLinks(ids),
  };
  collector = new HealthCollector({
    linksOf: (gatewayId) => store.links.liveWithEndsOf(gatewayId),
    store: counting,
    log: silentLogger,
    metrics: metrics.linkHealth,
    sendTargets: (gatewayId, targets) => void hub.hub.sendProbeTargets(gatewayId, targets),
    onVerdict: (v) => verdicts.push(v),
  });
  hub = await startAgentHub(db, { hubOptions: { onHealth: (gatewayId, frame) => void collector.accept(gatewayId, frame) } });
  await startAgent('gwa');
  await startAgent('gwb');
  // Link L1 as the workflow would: config at both ends, then the initiator brings it up.
  await hub.hub.call(asGatewayId('gwb'), 'applyLink', { link: config('L1', 'gwb', 'gwa', false) });
  await hub.hub.call(asGatewayId('gwa'), 'applyLink', { link: config('L1', 'gwa', 'gwb', true) });
  const initiated = await hub.hub.call(asGatewayId('gwa'), 'initiate', { name: 'link-L1' });
  if (!initiated.established) throw new Error('the fake tunnel did not come up');
}, 30_000);

afterAll(async () => {
  for (const id of [...agents.keys()]) await stopAgent(id);
  await collector?.close();
  await hub?.stop();
  await cleanupDb?.();
  for (const dir of dirs.values()) await removeDir(dir);
});

describe('data-plane health through the hub', () => {
  it('stores each end\'s counters, times and probe RTT, and the API view and /metrics show them', async () => {
    expect(ipsec.drivers.get(PUBLIC.gwa!)!.traffic('link-L1', 1000, 5)).toBe(true);
    await expect.poll(async () => (await row('L1', 'gwb'))?.bytesIn, { timeout: 5000 }).toBe(5000);
    await expect.poll(async () => (await row('L1', 'gwa'))?.rttP50Ms ?? null, { timeout: 5000 }).not.toBeNull();
    const a = (await row('L1', 'gwa'))!;
    expect(a).toMatchObject({ end: 'a', installed: true, bytesOut: 5000, packetsOut: 5, innerAddr: INNER.gwa, probeFailStreak: 0 });
    expect(a.probesAnswered).toBeGreaterThan(0);
    expect(a.lastOutAt!.getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(a.establishedAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(a.rekeyAt!.getTime()).toBeGreaterThan(Date.now());
    const b = (await row('L1', 'gwb'))!;
    expect(b).toMatchObject({ end: 'b', packetsIn: 5, innerAddr: INNER.gwb });

    // The API's view of the link carries both ends' figures, within its response schema.
    const view = linkView((await store.links.withEnds('L1'))!, { now: new Date(), presenceTtlMs: 60_000, temporalNamespace: 'default' }, await rows('L1'));
    expect(Link.safeParse(view).success).toBe(true);
    expect(view.a.dataPlane).toMatchObject({ bytesOut: 5000, installed: true, probes: { failStreak: 0 } });
    expect(view.a.dataPlane!.rttP50Ms).toBeGreaterThanOrEqual(0);
    expect(view.b.dataPlane).toMatchObject({ bytesIn: 5000, packetsIn: 5 });
    expect(view.b.dataPlane!.lastTrafficAt).not.toBeNull();

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/ipsecmesh_link_tx_bytes_total\{link="L1"\} 5000/);
    expect(text).toMatch(/ipsecmesh_link_up\{link="L1"\} 1/);
    expect(text).toMatch(/ipsecmesh_link_rtt_seconds\{link="L1"\} \d/);
    // Passing probes on an up link are no news: the workflow hears nothing.
    expect(verdicts).toEqual([]);
  });

  it('ignores a gateway\'s report on a link it is not an end of, and an inner address outside its networks', async () => {
    // gwa is made to hold link L2 (gwb–gwc) and reports it with its own.
    await hub.hub.call(asGatewayId('gwa'), 'applyLink', { link: config('L2', 'gwa', 'gwc', false) });
    const ignoredBefore = collector.ignored;
    await expect.poll(() => collector.ignored, { timeout: 5000 }).toBeGreaterThan(ignoredBefore);
    await collector.flush();
    expect(await rows('L2')).toEqual([]);
    await hub.hub.call(asGatewayId('gwa'), 'removeLink', { name: 'link-L2' });

    // A crafted frame: gwa claims gwb's inner address as its own; the figures land, the address does not.
    await collector.accept(asGatewayId('gwa'), {
      type: 'health',
      intervalMs: 60_000,
      at: new Date().toISOString(),
      links: [{ name: 'link-L1', installed: true, bytesIn: 1, bytesOut: 1, packetsIn: 1, packetsOut: 1, innerAddr: INNER.gwb! }],
    });
    await collector.flush();
    expect((await row('L1', 'gwa'))!.innerAddr).toBeNull();
  });

  it('writes at most one row per link end per flush, however often an agent reports', async () => {
    await stopAgent('gwa');
    await stopAgent('gwb');
    await collector.flush();
    const before = { ...writes };
    // A state neither end reported before (the CHILD_SA gone), so both ends are due at this flush.
    const frame = { type: 'health' as const, intervalMs: 10_000, at: new Date().toISOString(), links: [{ name: 'link-L1', installed: false, bytesIn: 7, bytesOut: 7, packetsIn: 7, packetsOut: 7 }] };
    for (let i = 0; i < 200; i++) await collector.accept(asGatewayId(i % 2 === 0 ? 'gwa' : 'gwb'), frame);
    await collector.flush();
    expect(writes.calls - before.calls).toBe(1);
    expect(writes.rows - before.rows).toBe(2);
    expect((await row('L1', 'gwb'))!.bytesIn).toBe(7);
  });

  it('turns an end\'s probe verdict to failing after three silent intervals, naming the peer, and back when answers return', async () => {
    verdicts.length = 0;
    await startAgent('gwa');
    await startAgent('gwb');
    // Answers again (the first verdict of this process went out in the first test).
    const since = Date.now();
    await expect
      .poll(
        async () => {
          const r = await row('L1', 'gwa');
          return r !== undefined && r.measuredAt.getTime() >= since && r.probesAnswered > 0;
        },
        { timeout: 5000 },
      )
      .toBe(true);
    // gwb's agent (and with it its responder) stops; the CHILD_SA stays installed at gwa.
    await stopAgent('gwb');
    await expect.poll(() => verdicts.find((v) => v.gatewayId === 'gwa' && v.failing), { timeout: 5000 }).toBeDefined();
    const failing = verdicts.filter((v) => v.gatewayId === 'gwa' && v.failing);
    expect(failing).toHaveLength(1); // once per episode, however many intervals follow
    expect(failing[0]!.reason).toMatch(/^no probe answer from site-gwb through the tunnel for \d+ s; IKE is up$/);
    const count = verdicts.length;
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 3));
    expect(verdicts.filter((v) => v.gatewayId === 'gwa' && v.failing)).toHaveLength(1);
    await startAgent('gwb');
    await expect.poll(() => verdicts.slice(count).find((v) => v.gatewayId === 'gwa' && !v.failing), { timeout: 5000 }).toBeDefined();
  });
});

describe('the collector\'s writes', () => {
  it('writes an end whose figures alone moved every third interval, and one whose state changed at the next flush', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const written: LinkHealthRecord[] = [];
    const link = { id: 'LW', aId: 'gwx', bId: 'gwy', state: 'up', aCidrs: ['10.9.0.0/24'], bCidrs: ['10.8.0.0/24'], a: { name: 'site-x' }, b: { name: 'site-y' } } as unknown as LinkWithEnds;
    const c = new HealthCollector({
      linksOf: () => Promise.resolve([link]),
      store: {
        putMany: (records) => {
          written.push(...records);
          return Promise.resolve();
        },
        forLinks: () => Promise.resolve([]),
      },
      log: silentLogger,
      sendTargets: () => undefined,
      onVerdict: () => undefined,
      now: () => now,
    });
    const report = (bytes: number, more: { installed?: boolean } = {}) => ({ name: 'link-LW', installed: true, bytesIn: bytes, bytesOut: bytes, packetsIn: 1, packetsOut: 1, innerAddr: '10.9.0.1', ...more });
    const rowsAfter = async (r: ReturnType<typeof report>): Promise<number[]> => {
      await c.accept(asGatewayId('gwx'), { type: 'health', intervalMs: 10_000, at: new Date(now).toISOString(), links: [r] });
      await c.flush();
      now += 10_000;
      return written.splice(0).map((row) => row.bytesIn);
    };
    expect(await rowsAfter(report(1))).toEqual([1]); // first sight
    expect(await rowsAfter(report(2))).toEqual([]); // counters only
    expect(await rowsAfter(report(3))).toEqual([]);
    expect(await rowsAfter(report(4))).toEqual([4]); // the third interval
    expect(await rowsAfter(report(5, { installed: false }))).toEqual([5]); // the CHILD_SA went: at once
    expect(await rowsAfter(report(6, { installed: false }))).toEqual([]);
    await c.close();
  });
});

describe.each([
  ['SQLite', createSqliteTestDb, () => Promise.resolve(true)],
  ['PostgreSQL', createPgTestDb, pgAvailable],
] as const)('LinkHealth rows on %s', (_name, create, available) => {
  it('overwrites a link end\'s row and reads big counters back exactly', async () => {
    if (!(await available())) return;
    const t = await create();
    try {
      const s = createStore(t.db);
      const base = { linkId: 'L9', gatewayId: 'g1', end: 'a' as const, installed: true, bytesIn: 2 ** 40 + 1, bytesOut: 5, packetsIn: 1, packetsOut: 1, lastInAt: new Date(1_000), lastOutAt: null, establishedAt: new Date(2_000), rekeyAt: new Date(3_000), innerAddr: '10.1.0.1', rttP50Ms: 1.5, probesSent: 3, probesAnswered: 3, probeFailStreak: 0, measuredAt: new Date(4_000) };
      await s.health.putMany([base, { ...base, gatewayId: 'g2', end: 'b', innerAddr: null, rttP50Ms: null, probeFailStreak: null }]);
      await s.health.putMany([{ ...base, bytesOut: 9, measuredAt: new Date(5_000) }]);
      const got = (await s.health.forLinks(['L9'])).sort((x, y) => x.gatewayId.localeCompare(y.gatewayId));
      expect(got).toEqual([{ ...base, bytesOut: 9, measuredAt: new Date(5_000) }, { ...base, gatewayId: 'g2', end: 'b', innerAddr: null, rttP50Ms: null, probeFailStreak: null }]);
      expect(await s.health.forLinks([])).toEqual([]);
      // Two reports of one end in one flush: one statement may not touch a row twice (PostgreSQL); the later wins.
      await s.health.putMany([{ ...base, bytesIn: 7 }, { ...base, bytesIn: 8, measuredAt: new Date(6_000) }]);
      expect((await s.health.forLinks(['L9', 'L9'])).find((r) => r.gatewayId === 'g1')).toMatchObject({ bytesIn: 8, measuredAt: new Date(6_000) });
    } finally {
      await t.cleanup();
    }
  });
});
