// Issue 9, item 3: a hub that limits failed authentications answers the upgrade with 429 (or 503)
// and Retry-After. The agent waits max(Retry-After, its backoff), capped at BACKOFF_MAX_MS, and
// tries again; only a 401 is final.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { parseRetryAfter } from '../../agent/retry';
import { createSqliteTestDb } from '../helpers/db';
import { startAgentHub, startTestAgent, removeDir, recordingLogger, type AgentHub, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { Db } from '../../db';

const SECRET = 'r'.repeat(43);
const ipsec = new FakeIpsecNetwork();
let db: Db;
let cleanupDb: () => Promise<void>;
const agents: TestAgent[] = [];
const hubs: AgentHub[] = [];

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  for (const id of ['rl-1', 'rl-2', 'rl-3', 'rl-4', 'rl-5', 'rl-6']) {
    await db.gateway.create({ data: { id, name: id, provider: 'onprem', cidrs: '["10.1.0.0/24"]', secretHash: hashSecret(SECRET) } });
  }
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().then(() => removeDir(a.stateDir))));
  await Promise.all(hubs.map((h) => h.stop()));
  await cleanupDb();
});

/** A hub that answers the first `refusals` upgrades itself, as a rate-limiting hub does, and records when each came. */
async function limitedHub(refusals: number, status: number, retryAfter?: string) {
  const upgrades: number[] = [];
  const hub = await startAgentHub(db, {
    intercept: (_req, socket: Duplex) => {
      upgrades.push(Date.now());
      if (upgrades.length > refusals) return false;
      const text = status === 429 ? 'Too Many Requests' : 'Service Unavailable';
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${retryAfter !== undefined ? `Retry-After: ${retryAfter}\r\n` : ''}Content-Length: 0\r\n\r\n`);
      return true;
    },
  });
  hubs.push(hub);
  return { hub, upgrades };
}

async function agentOn(hub: AgentHub, gatewayId: string, backoff: { minMs: number; maxMs: number }) {
  const rec = recordingLogger();
  const a = await startTestAgent({ controllerUrl: hub.url, gatewayId, secret: SECRET, driver: ipsec.driver('198.51.100.20'), backoff, log: rec.log });
  agents.push(a);
  return { a, rec };
}

describe('agent under a rate-limiting hub', () => {
  it('waits the Retry-After of a 429 before dialling again, then connects', async () => {
    const { hub, upgrades } = await limitedHub(1, 429, '1');
    const { a } = await agentOn(hub, 'rl-1', { minMs: 50, maxMs: 5000 });
    await expect.poll(() => hub.hub.isConnected(asGatewayId('rl-1')), { timeout: 5000 }).toBe(true);
    expect(upgrades).toHaveLength(2);
    expect(upgrades[1]! - upgrades[0]!).toBeGreaterThanOrEqual(950);
    await a.stop();
  });

  it('treats 503 with Retry-After the same way', async () => {
    const { hub, upgrades } = await limitedHub(1, 503, '1');
    const { a } = await agentOn(hub, 'rl-2', { minMs: 50, maxMs: 5000 });
    await expect.poll(() => hub.hub.isConnected(asGatewayId('rl-2')), { timeout: 5000 }).toBe(true);
    expect(upgrades[1]! - upgrades[0]!).toBeGreaterThanOrEqual(950);
    await a.stop();
  });

  it('caps a long Retry-After at BACKOFF_MAX_MS', async () => {
    const { hub, upgrades } = await limitedHub(1, 429, '3600');
    const { a } = await agentOn(hub, 'rl-3', { minMs: 50, maxMs: 400 });
    await expect.poll(() => hub.hub.isConnected(asGatewayId('rl-3')), { timeout: 3000 }).toBe(true);
    expect(upgrades[1]! - upgrades[0]!).toBeGreaterThanOrEqual(350);
    expect(upgrades[1]! - upgrades[0]!).toBeLessThan(1500);
    await a.stop();
  });

  it('is never final: many 429s (without Retry-After: the backoff) and then it connects', async () => {
    const { hub, upgrades } = await limitedHub(6, 429);
    const { a, rec } = await agentOn(hub, 'rl-4', { minMs: 50, maxMs: 200 });
    await expect.poll(() => hub.hub.isConnected(asGatewayId('rl-4')), { timeout: 8000 }).toBe(true);
    expect(upgrades).toHaveLength(7);
    expect(rec.records.some((r) => r.level === 'warn' && /429|rate/i.test(JSON.stringify(r)))).toBe(true);
    await a.stop();
  });

  it('still treats 401 as final', async () => {
    const { hub, upgrades } = await limitedHub(0, 429);
    const a = await startTestAgent({ controllerUrl: hub.url, gatewayId: 'rl-5', secret: 'w'.repeat(43), driver: ipsec.driver('198.51.100.21'), backoff: { minMs: 50, maxMs: 200 } });
    agents.push(a);
    await expect(a.done).rejects.toThrow(/401/);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(upgrades).toHaveLength(1);
  });
});

describe("agent under the real hub's limit on failed authentications", () => {
  it('waits out the 429 the hub answers after failures from its address, then connects', async () => {
    const hub = await startAgentHub(db, { hubOptions: { authFailures: 2, authFailureWindowMs: 1500 } });
    hubs.push(hub);
    const upgrades: number[] = [];
    hub.server.on('upgrade', () => upgrades.push(Date.now()));
    // Someone on the agent's address (127.0.0.1 here) guessed secrets.
    for (let i = 0; i < 2; i++) {
      const guess = new WebSocket(`${hub.url.replace('http:', 'ws:')}/agent`, { headers: { authorization: `Bearer rl-6:${'g'.repeat(43)}` } });
      await new Promise<void>((resolve) => guess.on('unexpected-response', () => resolve()).on('error', () => resolve()));
      guess.terminate();
    }
    const guesses = upgrades.length;
    const { a, rec } = await agentOn(hub, 'rl-6', { minMs: 50, maxMs: 5000 });
    await expect.poll(() => hub.hub.isConnected(asGatewayId('rl-6')), { timeout: 8000 }).toBe(true);
    const mine = upgrades.slice(guesses);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine[1]! - mine[0]!).toBeGreaterThanOrEqual(950); // Retry-After, not the 50 ms backoff
    expect(rec.records.some((r) => /retry later/i.test(r.msg) && JSON.stringify(r.fields).includes('429'))).toBe(true);
    await a.stop();
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('reads seconds or an HTTP date, and ignores anything else', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('12', now)).toBe(12_000);
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', now)).toBe(0);
    for (const bad of [undefined, '', 'soon', '-5', '1.5', '1e3']) expect(parseRetryAfter(bad, now)).toBeUndefined();
  });
});
