// Issue 9, finding 2: guessing agent secrets. Failed authentications are limited per source address
// (429 with Retry-After once the budget is spent, without asking the database), their log lines
// are sampled, and an unknown gateway still looks exactly like a wrong secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { GatewayHub, type HubOptions } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import type { PresenceStore } from '../../gateway-hub/presence';
import { AGENT_PATH, authHeader } from '../../protocol/messages';
import { hashSecret } from '../../lib/crypto';
import type { Logger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import type { Db } from '../../db';

const SECRET = 'a'.repeat(43);
const WRONG = 'w'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: Line[], base: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields: { ...base, ...fields } });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => recordingLogger(lines, { ...base, ...f }) };
}

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  await db.gateway.create({ data: { id: 'gw1', name: 'gw1', provider: 'onprem', cidrs: '["10.0.0.0/24"]', secretHash: hashSecret(SECRET) } });
});

afterAll(async () => {
  await cleanupDb();
});

/** A hub on the real database whose secret lookups are counted on their way through. */
async function startHub(opts: Partial<HubOptions> = {}) {
  const lines: Line[] = [];
  const real = dbPresenceStore(db);
  let lookups = 0;
  const store: PresenceStore = {
    ...real,
    secretHash: (gatewayId) => {
      lookups++;
      return real.secretHash(gatewayId);
    },
  };
  const hub = new GatewayHub({ instanceId: 'auth-hub', store, log: recordingLogger(lines), heartbeatMs: 60_000, rpcTimeoutMs: 1000, helloTimeoutMs: 5000, ...opts });
  const server = http.createServer((req, res) => hub.handleHttp(req, res));
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    hub,
    port,
    lines,
    lookups: () => lookups,
    async stop() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One WebSocket upgrade request from `from`; a successful upgrade is closed at once. */
function upgrade(port: number, from: string, authorization: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: AGENT_PATH,
      localAddress: from,
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...(authorization !== undefined ? { authorization } : {}),
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('failed agent authentication', () => {
  it('600 wrong secrets from one address: 10 refusals, then 429 with Retry-After and no database lookup; few log lines', async () => {
    const h = await startHub();
    try {
      const answers: Answer[] = [];
      for (let i = 0; i < 600; i++) answers.push(await upgrade(h.port, '127.0.7.1', authHeader('gw1', WRONG)));
      expect(answers.slice(0, 10).map((a) => a.status)).toEqual(Array<number>(10).fill(401));
      expect(answers.slice(10).every((a) => a.status === 429)).toBe(true);
      for (const a of answers.slice(10)) {
        const retryAfter = Number(a.headers['retry-after']);
        expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      }
      expect(h.lookups()).toBeLessThanOrEqual(10);
      expect(h.lines.filter((l) => l.level !== 'debug').length).toBeLessThanOrEqual(3);
      // The log never carries the secret that was tried.
      expect(JSON.stringify(h.lines)).not.toContain(WRONG);
    } finally {
      await h.stop();
    }
  });

  it('blocks per address: the blocked address is refused even with the right secret, another address gets in', async () => {
    const h = await startHub();
    try {
      for (let i = 0; i < 10; i++) expect((await upgrade(h.port, '127.0.7.2', authHeader('gw1', WRONG))).status).toBe(401);
      const blocked = await upgrade(h.port, '127.0.7.2', authHeader('gw1', SECRET));
      expect(blocked.status).toBe(429);
      expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
      expect((await upgrade(h.port, '127.0.7.3', authHeader('gw1', SECRET))).status).toBe(101);
    } finally {
      await h.stop();
    }
  });

  it('counts missing and malformed authorization headers as failures', async () => {
    const h = await startHub();
    try {
      const bad = [undefined, 'Basic Zm9vOmJhcg==', 'Bearer gw1', `Bearer gw1:${'x'.repeat(5)}`, `Bearer g w:${SECRET}`, 'Bearer :', '', `Bearer gw1:${SECRET}:x`, 'x'.repeat(2000), 'Enrol gw1:abc'];
      for (const header of bad) expect((await upgrade(h.port, '127.0.7.4', header)).status).toBe(401);
      expect((await upgrade(h.port, '127.0.7.4', authHeader('gw1', SECRET))).status).toBe(429);
    } finally {
      await h.stop();
    }
  });

  it('an unknown gateway and a wrong secret get the same answer', async () => {
    const h = await startHub();
    try {
      const unknown = await upgrade(h.port, '127.0.7.5', authHeader('nosuchgw', WRONG));
      const wrong = await upgrade(h.port, '127.0.7.6', authHeader('gw1', WRONG));
      const strip = (a: Answer) => ({ ...a, headers: { ...a.headers, date: undefined } });
      expect(strip(unknown)).toEqual(strip(wrong));
      expect(unknown.status).toBe(401);
    } finally {
      await h.stop();
    }
  });

  it('logs the first failure of each address, then a periodic summary with the count left out', async () => {
    const h = await startHub({ logSampleMs: 1000 });
    try {
      for (let i = 0; i < 30; i++) await upgrade(h.port, `127.0.8.${1 + (i % 3)}`, authHeader('gw1', WRONG));
      const summaries = () => h.lines.filter((l) => /summary/.test(l.msg));
      const perAttempt = () => h.lines.filter((l) => !/summary/.test(l.msg));
      // Every attempt is either its own line or counted in a summary, and most are counted.
      const accounted = () => perAttempt().length + summaries().reduce((n, l) => n + (l.fields.suppressed as number), 0);
      await expect.poll(accounted, { timeout: 3000 }).toBe(30);
      expect(perAttempt().length).toBeLessThanOrEqual(9); // the first per address, per window of 1 s
      expect(summaries().length).toBeGreaterThan(0);
    } finally {
      await h.stop();
    }
  });
});
