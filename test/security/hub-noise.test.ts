// Issue 9, finding 4: agent noise must not grow workflow history without bound. Identical facts are
// dropped; changed facts, tunnel reports and reconnects reach the callbacks (which signal
// workflows) through per-gateway token buckets that coalesce to the latest value, so a flapping or
// hostile agent is limited while normal operation passes at once and in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { GatewayHub, type HubOptions, type TunnelReport } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import type { PresenceStore } from '../../gateway-hub/presence';
import { AGENT_PATH, PROTOCOL_VERSION, authHeader, type Facts } from '../../protocol/messages';
import { hashSecret } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import type { Db } from '../../db';

const SECRET = 'n'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  for (const id of ['gw1', 'gw2']) {
    await db.gateway.create({ data: { id, name: id, provider: 'onprem', cidrs: '["10.0.0.0/24"]', secretHash: hashSecret(SECRET) } });
  }
});

afterAll(async () => {
  await cleanupDb();
});

/** A hub on the real database that records its callbacks and counts presence writes on their way through. */
async function startHub(opts: Partial<HubOptions> = {}) {
  const real = dbPresenceStore(db);
  let writes = 0;
  const store: PresenceStore = {
    ...real,
    markOnline: (gatewayId, p) => {
      writes++;
      return real.markOnline(gatewayId, p);
    },
  };
  const seen = { facts: [] as Facts[], tunnels: [] as TunnelReport[], onlines: [] as Array<{ observedIp: string | undefined; facts: Facts }> };
  const hub = new GatewayHub({
    instanceId: 'noise-hub',
    store,
    log: silentLogger,
    heartbeatMs: 60_000,
    rpcTimeoutMs: 1000,
    helloTimeoutMs: 5000,
    onFacts: (_g, f) => void seen.facts.push(f),
    onTunnel: (_g, r) => void seen.tunnels.push(r),
    onOnline: (_g, info) => void seen.onlines.push(info),
    ...opts,
  });
  const server = http.createServer((req, res) => hub.handleHttp(req, res));
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${AGENT_PATH}`;
  const sockets: WebSocket[] = [];
  return {
    hub,
    seen,
    writes: () => writes,
    /** Connects as `gatewayId`, says hello with `facts`, resolves once welcomed. */
    async agent(gatewayId: string, facts: Facts): Promise<WebSocket> {
      const ws = new WebSocket(url, { headers: { authorization: authHeader(gatewayId, SECRET) } });
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts })));
        ws.on('message', (d) => (JSON.parse((d as Buffer).toString()) as { type: string }).type === 'welcome' && resolve());
      });
      return ws;
    },
    async stop() {
      for (const s of sockets) s.terminate();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const factsAt = (ip: string): Facts => ({ agentVersion: '0.1.0', hostname: 'vpn', publicIp: ip, localAddrs: ['10.0.0.5'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('facts', () => {
  it('1,000 identical facts frames cause no onFacts and no presence write', async () => {
    const h = await startHub();
    try {
      const ws = await h.agent('gw1', factsAt('203.0.113.1'));
      expect(h.writes()).toBe(1);
      for (let i = 0; i < 1000; i++) ws.send(JSON.stringify({ type: 'facts', facts: factsAt('203.0.113.1') }));
      // A changed frame after them: once it is through, so are the 1,000 before it.
      ws.send(JSON.stringify({ type: 'facts', facts: factsAt('203.0.113.2') }));
      await expect.poll(() => h.seen.facts.length).toBeGreaterThan(0);
      await sleep(100);
      expect(h.seen.facts).toEqual([factsAt('203.0.113.2')]);
      expect(h.writes()).toBe(2);
      await expect.poll(async () => JSON.parse((await db.gateway.findUniqueOrThrow({ where: { id: 'gw1' } })).facts!) as Facts).toEqual(factsAt('203.0.113.2'));
    } finally {
      await h.stop();
    }
  });

  it('100 changes in a burst reach onFacts a bounded number of times, the last one included', async () => {
    const h = await startHub({ factsBurst: 3, factsRefillMs: 1000 });
    try {
      const ws = await h.agent('gw1', factsAt('198.51.100.200'));
      for (let i = 0; i < 100; i++) ws.send(JSON.stringify({ type: 'facts', facts: factsAt(`198.51.100.${i}`) }));
      await expect.poll(() => h.seen.facts.at(-1)?.publicIp, { timeout: 5000 }).toBe('198.51.100.99');
      await sleep(1200); // nothing more follows
      expect(h.seen.facts.length).toBeLessThanOrEqual(5);
      expect(h.seen.facts.at(-1)).toEqual(factsAt('198.51.100.99'));
      expect(h.writes()).toBeLessThanOrEqual(6);
      expect(JSON.parse((await db.gateway.findUniqueOrThrow({ where: { id: 'gw1' } })).facts!)).toEqual(factsAt('198.51.100.99'));
    } finally {
      await h.stop();
    }
  });
});

describe('tunnel reports', () => {
  it('1,000 alternating flips in a burst: at most 15 onTunnel calls, the last with the final state', async () => {
    const h = await startHub();
    try {
      const ws = await h.agent('gw1', factsAt('203.0.113.1'));
      const at = new Date().toISOString();
      for (let i = 0; i < 1000; i++) ws.send(JSON.stringify({ type: 'tunnel', name: 'link-lnflap', up: i % 2 === 1, at }));
      // The trailing delivery, one refill after the burst, carries the final state...
      await expect.poll(() => h.seen.tunnels.at(-1)?.up, { timeout: 5000 }).toBe(true);
      await sleep(1200);
      // ...and nothing follows it.
      expect(h.seen.tunnels.length).toBeLessThanOrEqual(15);
      expect(h.seen.tunnels.at(-1)).toMatchObject({ name: 'link-lnflap', up: true });
    } finally {
      await h.stop();
    }
  });

  it('a restart (down, then up within milliseconds) is delivered at once and in order', async () => {
    const h = await startHub();
    try {
      const ws = await h.agent('gw1', factsAt('203.0.113.1'));
      const at = new Date().toISOString();
      ws.send(JSON.stringify({ type: 'tunnel', name: 'link-lnrestart', up: false, reason: 'child-updown', at }));
      ws.send(JSON.stringify({ type: 'tunnel', name: 'link-lnrestart', up: true, at }));
      // At once: well before the 1 s a throttled report would wait.
      await expect.poll(() => h.seen.tunnels.map((t) => t.up), { timeout: 500, interval: 5 }).toEqual([false, true]);
    } finally {
      await h.stop();
    }
  });
});

describe('reconnect storms', () => {
  it('20 reconnects of one gateway reach onOnline a bounded number of times, announcing the latest connection', async () => {
    const h = await startHub({ onlineBurst: 3, onlineRefillMs: 2000 });
    try {
      let last: WebSocket | undefined;
      for (let i = 0; i < 20; i++) last = await h.agent('gw2', factsAt(`198.51.100.${i}`));
      await expect.poll(() => h.seen.onlines.at(-1)?.facts.publicIp, { timeout: 5000 }).toBe('198.51.100.19');
      expect(h.seen.onlines.length).toBeLessThanOrEqual(6);
      expect(h.seen.onlines.at(-1)?.facts).toEqual(factsAt('198.51.100.19'));
      expect(last?.readyState).toBe(WebSocket.OPEN);
    } finally {
      await h.stop();
    }
  });
});
