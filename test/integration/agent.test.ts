// The production agent (session loop, state, request handling) against a real hub and database:
// reconnect with backoff, 401 is final, HTTPS_PROXY is honoured, every request gets a response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { GatewayHub } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { AuthRejectedError } from '../../agent/session';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import { startTestAgent, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { Db } from '../../db';

const SECRET = 'k'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;
const ipsec = new FakeIpsecNetwork();
const running: TestAgent[] = [];

async function startHub(port = 0) {
  const server = http.createServer((_q, r) => r.writeHead(404).end());
  const hub = new GatewayHub({ instanceId: 'h1', store: dbPresenceStore(db), log: silentLogger, heartbeatMs: 300, rpcTimeoutMs: 2000, helloTimeoutMs: 1000 });
  hub.attach(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    hub,
    server,
    url,
    port: (server.address() as AddressInfo).port,
    async stop() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  await db.gateway.create({ data: { id: 'gwa', name: 'a', provider: 'onprem', cidrs: '["10.1.0.0/24"]', secretHash: hashSecret(SECRET) } });
});

afterAll(async () => {
  await Promise.all(running.map((a) => a.stop()));
  await cleanupDb();
});

describe('agent session', () => {
  it('connects, reconnects after the controller restarts, and answers requests', async () => {
    const h1 = await startHub();
    const a = await startTestAgent({ controllerUrl: h1.url, gatewayId: 'gwa', secret: SECRET, driver: ipsec.driver('198.51.100.1') });
    running.push(a);
    await expect.poll(() => h1.hub.isConnected(asGatewayId('gwa'))).toBe(true);
    await expect(h1.hub.call(asGatewayId('gwa'), 'status', {})).resolves.toEqual({ sas: [], links: [] });
    // A request the agent cannot serve still gets an answer (an error), never silence.
    await expect(h1.hub.call(asGatewayId('gwa'), 'initiate', { name: 'link-none' })).rejects.toMatchObject({ code: 'agent_error', agentCode: 'unknown_link' });
    const port = h1.port;
    await h1.stop();
    await new Promise((r) => setTimeout(r, 300));
    const h2 = await startHub(port);
    await expect.poll(() => h2.hub.isConnected(asGatewayId('gwa')), { timeout: 5000 }).toBe(true);
    await h2.stop();
    await a.stop();
  });

  it('treats 401 as final: run() rejects once, without retrying', async () => {
    const h = await startHub();
    let upgrades = 0;
    h.server.on('upgrade', () => upgrades++);
    const a = await startTestAgent({ controllerUrl: h.url, gatewayId: 'gwa', secret: 'w'.repeat(43), driver: ipsec.driver('198.51.100.2') });
    await expect(a.done).rejects.toBeInstanceOf(AuthRejectedError);
    await expect(a.done).rejects.toThrow(/rejected gateway gwa's credentials \(401\).*not retrying/);
    // With a 50 ms minimum backoff a retrying agent would have tried again several times by now.
    await new Promise((r) => setTimeout(r, 500));
    expect(upgrades).toBe(1);
    expect(h.hub.isConnected(asGatewayId('gwa'))).toBe(false);
    await a.agent.stop();
    await h.stop();
  });

  it('dials through an HTTP CONNECT proxy when HTTPS_PROXY/HTTP_PROXY is set', async () => {
    const h = await startHub();
    const tunnels: string[] = [];
    const proxy = http.createServer((_q, r) => r.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const { Agent } = await import('../../agent/agent');
    const { StateStore } = await import('../../agent/state');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const agent = new Agent({
      driver: ipsec.driver('198.51.100.3'),
      state: new StateStore(await mkdtemp(`${tmpdir()}/agent-`)),
      log: silentLogger,
      session: { controllerUrls: [h.url], gatewayId: 'gwa', secret: SECRET, proxy: { http: proxyUrl }, backoff: { minMs: 50, maxMs: 200 } },
    });
    const done = agent.run();
    await expect.poll(() => h.hub.isConnected(asGatewayId('gwa')), { timeout: 5000 }).toBe(true);
    expect(tunnels).toEqual([`127.0.0.1:${h.port}`]);
    await agent.stop();
    await done;
    await h.stop();
    proxy.closeAllConnections();
    proxy.close();
  });

  it('spreads over several controller URLs and fails over when one is down', async () => {
    const h = await startHub();
    const a = await startTestAgent({ controllerUrl: ['http://127.0.0.1:1', h.url], gatewayId: 'gwa', secret: SECRET, driver: ipsec.driver('198.51.100.4') });
    running.push(a);
    await expect.poll(() => h.hub.isConnected(asGatewayId('gwa')), { timeout: 5000 }).toBe(true);
    await a.stop();
    await h.stop();
  });
});
