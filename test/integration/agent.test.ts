// The production agent (session loop, state, request handling) against a real hub and database:
// reconnect with backoff, 401 is final, HTTPS_PROXY is honoured, every request gets a response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthRejectedError } from '../../agent/session';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { createSqliteTestDb } from '../helpers/db';
import { startAgentHub, startConnectProxy, startTestAgent, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { Db } from '../../db';

const SECRET = 'k'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;
const ipsec = new FakeIpsecNetwork();
const running: TestAgent[] = [];

const startHub = (port = 0) => startAgentHub(db, { port });

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
    const proxy = await startConnectProxy();
    const a = await startTestAgent({ controllerUrl: h.url, gatewayId: 'gwa', secret: SECRET, driver: ipsec.driver('198.51.100.3'), proxy: { http: proxy.url }, backoff: { minMs: 50, maxMs: 200 } });
    await expect.poll(() => h.hub.isConnected(asGatewayId('gwa')), { timeout: 5000 }).toBe(true);
    expect(proxy.tunnels).toEqual([`127.0.0.1:${h.port}`]);
    await a.stop();
    await h.stop();
    await proxy.stop();
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
