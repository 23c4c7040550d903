// Issue 9, finding 9 (server side): an agent trades a one-time enrolment token for its secret with
// POST /agent/enrol on the agent listener. Redeemed once, atomically; the new secret authenticates
// and the old one no longer does; used, expired and foreign tokens are refused alike.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { GatewayHub } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { AGENT_PATH, PROTOCOL_VERSION, authHeader } from '../../protocol/messages';
import { hashSecret, randomToken } from '../../lib/crypto';
import type { Logger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import type { Db } from '../../db';

const OLD_SECRET = 'o'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;
let server: http.Server;
let hub: GatewayHub;
let port: number;
const logged: string[] = [];
let nextAddress = 1;
/** A fresh source address per test, so the failure limiter of one test does not reach the next. */
let from: string;

const recording = (base: Record<string, unknown> = {}): Logger => {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void logged.push(JSON.stringify({ level, msg, ...base, ...fields }));
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => recording({ ...base, ...f }) };
};

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  for (const id of ['gw1', 'gw2']) {
    await db.gateway.create({ data: { id, name: id, provider: 'onprem', cidrs: '["10.0.0.0/24"]', secretHash: hashSecret(OLD_SECRET) } });
  }
  hub = new GatewayHub({ instanceId: 'enrol-hub', store: dbPresenceStore(db), log: recording(), heartbeatMs: 60_000, rpcTimeoutMs: 1000, helloTimeoutMs: 5000 });
  server = http.createServer((req, res) => hub.handleHttp(req, res));
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

beforeEach(async () => {
  from = `127.0.9.${nextAddress++}`;
  await db.gateway.updateMany({ data: { secretHash: hashSecret(OLD_SECRET) } });
});

afterAll(async () => {
  await hub.close();
  server.closeAllConnections();
  server.close();
  await cleanupDb();
});

/** Stores a token for `gatewayId`; returns the token text the operator would hand over. */
async function issue(gatewayId: string, expiresInMs = 3_600_000): Promise<string> {
  const token = randomToken();
  await db.enrolmentToken.create({ data: { id: `et${randomBytes(6).toString('hex')}`, gatewayId, tokenHash: hashSecret(token), expiresAt: new Date(Date.now() + expiresInMs) } });
  return token;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(o: { method?: string; path?: string; authorization?: string; body?: string; address?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: o.method ?? 'POST',
      path: o.path ?? `${AGENT_PATH}/enrol`,
      localAddress: o.address ?? from,
      agent: false,
      headers: o.authorization !== undefined ? { authorization: o.authorization } : {},
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    // A refused large body may close the connection before the whole body is written.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    req.end(o.body);
  });
}

const enrol = (gatewayId: string, token: string, address?: string) => request({ authorization: `Enrol ${gatewayId}:${token}`, ...(address ? { address } : {}) });

/** Status of a WebSocket upgrade with these credentials (101 after a welcome). */
async function connectStatus(gatewayId: string, secret: string): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${AGENT_PATH}`, { headers: { authorization: authHeader(gatewayId, secret) }, localAddress: '127.0.10.1' });
  try {
    return await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_q, res) => resolve(res.statusCode!));
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts: { agentVersion: 't' } })));
      ws.on('message', (d) => (JSON.parse((d as Buffer).toString()) as { type: string }).type === 'welcome' && resolve(101));
    });
  } finally {
    ws.terminate();
  }
}

describe('POST /agent/enrol', () => {
  it('redeems a valid token once: the returned secret authenticates, the old one does not', async () => {
    const token = await issue('gw1');
    const r = await enrol('gw1', token);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(r.body) as { gatewayId: string; secret: string };
    expect(body.gatewayId).toBe('gw1');
    expect(body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await connectStatus('gw1', body.secret)).toBe(101);
    expect(await connectStatus('gw1', OLD_SECRET)).toBe(401);
    const row = await db.enrolmentToken.findUniqueOrThrow({ where: { tokenHash: hashSecret(token) } });
    expect(row.usedAt).not.toBeNull();
    // Neither the token nor the secret is ever logged.
    expect(logged.join('\n')).not.toContain(body.secret);
    expect(logged.join('\n')).not.toContain(token);
    // A second use is refused, and changes nothing.
    expect((await enrol('gw1', token)).status).toBe(401);
    expect(await connectStatus('gw1', body.secret)).toBe(101);
  });

  it('refuses an expired token', async () => {
    const token = await issue('gw1', -1000);
    expect((await enrol('gw1', token)).status).toBe(401);
    expect(await connectStatus('gw1', OLD_SECRET)).toBe(101);
  });

  it("refuses a token presented for another gateway, and leaves it usable by its own", async () => {
    const token = await issue('gw1');
    expect((await enrol('gw2', token)).status).toBe(401);
    expect(await connectStatus('gw2', OLD_SECRET)).toBe(101);
    expect((await enrol('gw1', token)).status).toBe(200);
  });

  it('answers ten simultaneous redemptions of one token exactly once', async () => {
    const token = await issue('gw2');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => enrol('gw2', token, `127.0.11.${i + 1}`)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(9);
  });

  it('refuses malformed headers, other methods, other paths and bodies over 1 KB', async () => {
    const token = await issue('gw1');
    expect((await request({ authorization: `Enrol gw1:${token.slice(1)}` })).status).toBe(401);
    expect((await request({ authorization: `Bearer gw1:${OLD_SECRET}` })).status).toBe(401);
    expect((await request({})).status).toBe(401);
    const get = await request({ method: 'GET', authorization: `Enrol gw1:${token}` });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await request({ path: `${AGENT_PATH}/enroll`, authorization: `Enrol gw1:${token}` })).status).toBe(404);
    expect((await request({ path: '/api/gateways' })).status).toBe(404);
    expect((await request({ authorization: `Enrol gw1:${token}`, body: 'x'.repeat(2048) })).status).toBe(413);
    // None of those used the token up.
    expect((await request({ authorization: `Enrol gw1:${token}`, body: '{}' })).status).toBe(200);
  });

  it('counts refused tokens as authentication failures of the address (429 with Retry-After)', async () => {
    for (let i = 0; i < 10; i++) expect((await enrol('gw1', randomToken())).status).toBe(401);
    const token = await issue('gw1');
    const blocked = await enrol('gw1', token);
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    // Another address is not blocked.
    expect((await enrol('gw1', token, '127.0.12.1')).status).toBe(200);
  });
});
