// The gateway hub against real WebSocket clients and a real (SQLite) database.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { GatewayHub } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { HubError } from '../../gateway-hub/errors';
import { AGENT_PATH, CloseCode, MAX_FRAME_BYTES, PROTOCOL_VERSION, authHeader } from '../../protocol/messages';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import type { Db } from '../../db';

const SECRET = 's'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;
let server: http.Server;
let hub: GatewayHub;
let url: string;
const onlineEvents: string[] = [];
const tunnelEvents: Array<{ gw: string; name: string; up: boolean }> = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  for (const id of ['gw1', 'gw2']) {
    await db.gateway.create({ data: { id, name: id, provider: 'onprem', cidrs: '["10.0.0.0/24"]', secretHash: hashSecret(SECRET) } });
  }
  server = http.createServer((_req, res) => res.writeHead(404).end());
  hub = new GatewayHub({
    instanceId: 'test-hub',
    store: dbPresenceStore(db),
    log: silentLogger,
    heartbeatMs: 300,
    rpcTimeoutMs: 500,
    helloTimeoutMs: 400,
    onOnline: (g) => onlineEvents.push(g),
    onTunnel: (g, r) => tunnelEvents.push({ gw: g, name: r.name, up: r.up }),
  });
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${AGENT_PATH}`;
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.terminate();
});

afterAll(async () => {
  await hub.close();
  server.close();
  await cleanupDb();
});

/** A minimal agent: connects, says hello, and answers requests with `answer`. */
async function agent(gatewayId: string, opts: { secret?: string; hello?: boolean; autoPong?: boolean; answer?: (method: string, params: unknown) => unknown } = {}) {
  const ws = new WebSocket(url, { headers: { authorization: authHeader(gatewayId, opts.secret ?? SECRET) }, autoPong: opts.autoPong ?? true });
  sockets.push(ws);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const welcomed = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const f = JSON.parse((data as Buffer).toString()) as { type: string; id?: string; method?: string; params?: unknown };
      if (f.type === 'welcome') resolve();
      if (f.type === 'request' && opts.answer) {
        const result = opts.answer(f.method!, f.params);
        if (result !== undefined) ws.send(JSON.stringify({ type: 'response', id: f.id, ok: true, result }));
      }
    });
  });
  if (opts.hello !== false) {
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts: { agentVersion: 't', publicIp: '203.0.113.9' } }));
    await welcomed;
  }
  return { ws, closed };
}

describe('authentication before the upgrade', () => {
  it('rejects unknown gateways, wrong secrets and missing headers with 401', async () => {
    await expect(agent('nope')).rejects.toThrow('HTTP 401');
    await expect(agent('gw1', { secret: 'w'.repeat(43) })).rejects.toThrow('HTTP 401');
    const res = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_q, r) => resolve(r.statusCode!));
      ws.on('error', () => undefined);
    });
    expect(res).toBe(401);
  });
});

describe('hello and presence', () => {
  it('records online state, observed address and facts, and clears them on disconnect', async () => {
    const { ws } = await agent('gw1');
    const g = await db.gateway.findUniqueOrThrow({ where: { id: 'gw1' } });
    expect(g).toMatchObject({ online: true, observedIp: '127.0.0.1', hubInstance: 'test-hub' });
    expect(JSON.parse(g.facts!)).toMatchObject({ publicIp: '203.0.113.9' });
    expect(onlineEvents).toContain('gw1');
    expect(hub.isConnected(asGatewayId('gw1'))).toBe(true);
    ws.close();
    await expect.poll(async () => (await db.gateway.findUniqueOrThrow({ where: { id: 'gw1' } })).online).toBe(false);
  });

  it('closes a socket that never says hello', async () => {
    const { closed } = await agent('gw2', { hello: false });
    expect((await closed).code).toBe(CloseCode.helloTimeout);
  });

  it('terminates a socket that stops answering heartbeats', async () => {
    await agent('gw2', { autoPong: false });
    expect(hub.isConnected(asGatewayId('gw2'))).toBe(true);
    // Two heartbeat periods without a pong: the hub terminates the socket and records the gateway offline.
    await expect.poll(() => hub.isConnected(asGatewayId('gw2')), { timeout: 3000 }).toBe(false);
    await expect.poll(async () => (await db.gateway.findUniqueOrThrow({ where: { id: 'gw2' } })).online).toBe(false);
  });
});

describe('RPC', () => {
  it('returns results and validates them against the protocol', async () => {
    await agent('gw1', { answer: (m) => (m === 'status' ? { sas: [], links: ['link-x'] } : { wrong: true }) });
    await expect(hub.call(asGatewayId('gw1'), 'status', {})).resolves.toEqual({ sas: [], links: ['link-x'] });
    await expect(hub.call(asGatewayId('gw1'), 'removeLink', { name: 'x' })).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('owns timeouts', async () => {
    await agent('gw1', { answer: () => undefined });
    const t0 = Date.now();
    await expect(hub.call(asGatewayId('gw1'), 'status', {}, { timeoutMs: 150 })).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('fails pending requests at once when the socket closes', async () => {
    const { ws } = await agent('gw1', { answer: () => undefined });
    const pending = hub.call(asGatewayId('gw1'), 'status', {}, { timeoutMs: 10_000 });
    const t0 = Date.now();
    ws.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'disconnected' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('refuses calls to gateways it does not hold', async () => {
    await expect(hub.call(asGatewayId('gw2'), 'status', {})).rejects.toBeInstanceOf(HubError);
    await expect(hub.call(asGatewayId('gw2'), 'status', {})).rejects.toMatchObject({ code: 'not_connected' });
  });

  it('a reconnect replaces the old socket and fails its pending requests; only the new socket may answer', async () => {
    const first = await agent('gw1', { answer: () => undefined });
    const pending = expect(hub.call(asGatewayId('gw1'), 'status', {}, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'disconnected' });
    const second = await agent('gw1', { answer: () => ({ sas: [], links: [] }) });
    expect((await first.closed).code).toBe(CloseCode.replaced);
    await pending;
    await expect(hub.call(asGatewayId('gw1'), 'status', {})).resolves.toEqual({ sas: [], links: [] });
    // The replaced socket's close must not mark the gateway offline.
    expect((await db.gateway.findUniqueOrThrow({ where: { id: 'gw1' } })).online).toBe(true);
    void second;
  });

  it('ignores a response from a gateway the request was not sent to', async () => {
    let requestId = '';
    await agent('gw1', {
      answer: (_m, _p) => undefined,
    });
    const other = await agent('gw2');
    sockets[sockets.length - 2]!.on('message', (d) => {
      const f = JSON.parse((d as Buffer).toString()) as { type: string; id: string };
      if (f.type === 'request') requestId = f.id;
    });
    const pending = hub.call(asGatewayId('gw1'), 'status', {}, { timeoutMs: 400 });
    await expect.poll(() => requestId).not.toBe('');
    other.ws.send(JSON.stringify({ type: 'response', id: requestId, ok: true, result: { sas: [], links: ['forged'] } }));
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
  });

  it('passes agent errors through with their code', async () => {
    const { ws } = await agent('gw1');
    ws.on('message', (d) => {
      const f = JSON.parse((d as Buffer).toString()) as { type: string; id: string };
      if (f.type === 'request') ws.send(JSON.stringify({ type: 'response', id: f.id, ok: false, error: { code: 'stale_config', message: 'older' } }));
    });
    await expect(hub.call(asGatewayId('gw1'), 'status', {})).rejects.toMatchObject({ code: 'agent_error', agentCode: 'stale_config', message: 'older' });
  });
});

describe('bad frames never crash the hub', () => {
  it.each([
    ['not JSON', 'not json {', CloseCode.malformed],
    ['an unknown frame type', JSON.stringify({ type: 'shell', cmd: 'id' }), CloseCode.malformed],
    ['a frame that misses fields', JSON.stringify({ type: 'tunnel', name: 'x' }), CloseCode.malformed],
  ])('closes the socket that sent %s', async (_what, frame, code) => {
    const { ws, closed } = await agent('gw1');
    ws.send(frame);
    expect((await closed).code).toBe(code);
    // The hub still serves others.
    await agent('gw2', { answer: () => ({ sas: [], links: [] }) });
    await expect(hub.call(asGatewayId('gw2'), 'status', {})).resolves.toBeTruthy();
  });

  it('closes a socket that sends an oversized frame with 1009', async () => {
    const { ws, closed } = await agent('gw1');
    ws.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect((await closed).code).toBe(CloseCode.tooBig);
  });

  it('closes a socket that sends binary frames', async () => {
    const { ws, closed } = await agent('gw1');
    ws.send(Buffer.from([1, 2, 3]));
    expect((await closed).code).toBe(CloseCode.malformed);
  });

  it('closes a socket whose first frame is not a hello with 1007', async () => {
    const { ws, closed } = await agent('gw1', { hello: false });
    ws.send(JSON.stringify({ type: 'tunnel', name: 'link-ln1', up: true, at: new Date().toISOString() }));
    expect((await closed).code).toBe(CloseCode.malformed);
    expect(tunnelEvents.find((e) => e.gw === 'gw1' && e.name === 'link-ln1')).toBeUndefined();
  });

  it('forwards tunnel reports only after hello', async () => {
    const { ws } = await agent('gw1');
    ws.send(JSON.stringify({ type: 'tunnel', name: 'link-ln1', up: true, at: new Date().toISOString() }));
    await expect.poll(() => tunnelEvents.find((e) => e.gw === 'gw1' && e.name === 'link-ln1')).toBeTruthy();
  });
});
