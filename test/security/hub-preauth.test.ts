// Issue 9, finding 1: sockets on the agent listener that never authenticate. Upgrades to other
// paths are answered and closed, pre-authentication connections are bounded per source address and
// in total and time out, and a stop afterwards is quick and gives back every file descriptor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { GatewayHub, type HubOptions } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { AGENT_PATH, PROTOCOL_VERSION, authHeader } from '../../protocol/messages';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { createSqliteTestDb } from '../helpers/db';
import type { Db } from '../../db';

const SECRET = 'p'.repeat(43);
let db: Db;
let cleanupDb: () => Promise<void>;

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  await db.gateway.create({ data: { id: 'gw1', name: 'gw1', provider: 'onprem', cidrs: '["10.0.0.0/24"]', secretHash: hashSecret(SECRET) } });
});

afterAll(async () => {
  await cleanupDb();
});

interface TestHub {
  hub: GatewayHub;
  server: http.Server;
  port: number;
  /** hub.close() then server.close(); resolves with how long both took, or rejects after 5 s. */
  stop(): Promise<number>;
}

async function startHub(opts: Partial<HubOptions> = {}): Promise<TestHub> {
  const hub = new GatewayHub({ instanceId: 'preauth-hub', store: dbPresenceStore(db), log: silentLogger, heartbeatMs: 60_000, rpcTimeoutMs: 1000, helloTimeoutMs: 5000, ...opts });
  const server = http.createServer((req, res) => hub.handleHttp(req, res));
  hub.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    hub,
    server,
    port: (server.address() as AddressInfo).port,
    async stop() {
      const t0 = Date.now();
      const closed = (async () => {
        await hub.close();
        await new Promise<void>((r) => server.close(() => r()));
      })();
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error('hub.close() + server.close() did not finish within 5 s')), 5000)));
      try {
        await Promise.race([closed, limit]);
      } finally {
        clearTimeout(timer);
      }
      return Date.now() - t0;
    },
  };
}

interface RawResult {
  /** Everything the server sent before closing. */
  text: string;
  /** The server closed the connection within the wait. */
  closed: boolean;
}

/** Opens a TCP connection from `from`, writes `request` (if any) and waits until the server closes it or `waitMs` passes. */
function raw(port: number, from: string, request: string | undefined, waitMs: number): { done: Promise<RawResult>; socket: net.Socket } {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  const done = new Promise<RawResult>((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    if (request !== undefined) socket.on('connect', () => socket.write(request));
  });
  return { done, socket };
}

const upgradeTo = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: hub\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

const fdCount = (): number => fs.readdirSync('/proc/self/fd').length;

/** An agent that authenticates and says hello: it is no longer pre-authentication. */
async function welcomedAgent(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${AGENT_PATH}`, { headers: { authorization: authHeader('gw1', SECRET) } });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts: { agentVersion: 't' } })));
    ws.on('message', (d) => {
      if ((JSON.parse((d as Buffer).toString()) as { type: string }).type === 'welcome') resolve();
    });
  });
  return ws;
}

describe('pre-authentication sockets', () => {
  it('answers 1,000 upgrades to other paths with 400 and closes them', async () => {
    const h = await startHub();
    try {
      // 20 source addresses, 50 each: all within the per-address limit, so every one is answered.
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => raw(h.port, `127.0.1.${1 + (i % 20)}`, upgradeTo(['/', '/api', '/agentX', '/agent/../x'][i % 4]!), 3000).done),
      );
      expect(results.filter((r) => !r.closed)).toHaveLength(0);
      expect(results.filter((r) => r.text.startsWith('HTTP/1.1 400 '))).toHaveLength(1000);
    } finally {
      await h.stop().catch(() => undefined);
    }
  });

  it('closes idle connections beyond the per-address limit at once, and serves other addresses', async () => {
    const h = await startHub({ preauthPerIp: 64, preauthTimeoutMs: 30_000 });
    const conns = Array.from({ length: 200 }, () => raw(h.port, '127.0.2.1', undefined, 1500));
    try {
      // Another address still gets an answer while 127.0.2.1 is at its limit.
      await new Promise((r) => setTimeout(r, 200));
      const other = await raw(h.port, '127.0.2.2', 'GET /x HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n', 3000).done;
      expect(other.text.startsWith('HTTP/1.1 404 ')).toBe(true);
      const results = await Promise.all(conns.map((c) => c.done));
      expect(results.filter((r) => r.closed)).toHaveLength(200 - 64);
    } finally {
      for (const c of conns) c.socket.destroy();
      await h.stop().catch(() => undefined);
    }
  });

  it('closes connections beyond the total limit', async () => {
    const h = await startHub({ preauthPerIp: 64, preauthMax: 100, preauthTimeoutMs: 30_000 });
    const conns = Array.from({ length: 150 }, (_, i) => raw(h.port, `127.0.3.${1 + (i % 5)}`, undefined, 1500));
    try {
      const results = await Promise.all(conns.map((c) => c.done));
      expect(results.filter((r) => r.closed)).toHaveLength(50);
    } finally {
      for (const c of conns) c.socket.destroy();
      await h.stop().catch(() => undefined);
    }
  });

  it('closes sockets that get no further than authentication (no hello) within the deadline', async () => {
    const h = await startHub({ preauthTimeoutMs: 300 });
    try {
      const t0 = Date.now();
      const idle = Array.from({ length: 10 }, () => raw(h.port, '127.0.4.1', undefined, 3000).done);
      // Headers that never finish (slowloris) and an authenticated upgrade that never says hello.
      const slow = raw(h.port, '127.0.4.2', `GET ${AGENT_PATH} HTTP/1.1\r\nHost: hub\r\n`, 3000).done;
      const silent = raw(h.port, '127.0.4.3', upgradeTo(AGENT_PATH).replace('\r\n\r\n', `\r\nAuthorization: ${authHeader('gw1', SECRET)}\r\n\r\n`), 3000).done;
      const results = await Promise.all([...idle, slow, silent]);
      expect(results.every((r) => r.closed)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(2000);
      // An agent that authenticated and said hello is past the deadline's reach.
      const ws = await welcomedAgent(h.port);
      await new Promise((r) => setTimeout(r, 600));
      expect(ws.readyState).toBe(WebSocket.OPEN);
      expect(h.hub.isConnected(asGatewayId('gw1'))).toBe(true);
      ws.terminate();
    } finally {
      await h.stop().catch(() => undefined);
    }
  });

  it('after all that, a stop takes well under a second and the fd count returns to its baseline', async () => {
    const baseline = fdCount();
    const h = await startHub({ preauthTimeoutMs: 30_000 });
    // The clients keep their ends open: only the server can close these connections.
    const bogus = Array.from({ length: 1000 }, (_, i) => raw(h.port, `127.0.5.${1 + (i % 20)}`, upgradeTo('/nope'), 10_000));
    const idle = Array.from({ length: 300 }, (_, i) => raw(h.port, `127.0.6.${1 + (i % 3)}`, undefined, 10_000));
    const agent = await welcomedAgent(h.port);
    const agentClosed = new Promise<void>((r) => agent.on('close', () => r()));
    await new Promise((r) => setTimeout(r, 500));
    let stopMs: number;
    try {
      stopMs = await h.stop();
    } finally {
      for (const c of [...bogus, ...idle]) c.socket.destroy();
      agent.terminate();
    }
    expect(stopMs).toBeLessThan(1000);
    await Promise.all([...bogus, ...idle].map((c) => c.done));
    await agentClosed;
    await expect.poll(fdCount, { timeout: 3000 }).toBeLessThanOrEqual(baseline);
  });
});
