// Issue 9, item 5 (agent side): an agent enrols with a short-lived single-use ENROLMENT_TOKEN
// instead of a long-lived secret: POST <controller>/agent/enrol with `Authorization: Enrol
// <gatewayId>:<token>` → { gatewayId, secret }, kept in STATE_DIR/credentials.json (0600) and used
// from then on. 401 is final (exit 3); 429/503/network errors are retried; same TLS checks and
// proxy as the WebSocket. Neither the token nor the secret is ever logged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile, mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuthRejectedError } from '../../agent/session';
import { asGatewayId } from '../../protocol/ids';
import { hashSecret } from '../../lib/crypto';
import { createSqliteTestDb } from '../helpers/db';
import { makeTestPki, pinOf, type TestPki } from '../helpers/tls';
import { recordingLogger, startAgentHub, startConnectProxy, startTestAgent, removeDir, type AgentHub, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { Db } from '../../db';

const ipsec = new FakeIpsecNetwork();
const newToken = () => randomBytes(32).toString('base64url');
let db: Db;
let cleanupDb: () => Promise<void>;
let pki: TestPki;
let scratch: string;
const agents: TestAgent[] = [];
const hubs: AgentHub[] = [];

interface Exchange { at: number; method: string; url: string; authorization: string | undefined; body: string }

/**
 * The enrolment contract as the hub implements it, on a real hub's server: a known, unused token
 * for the gateway buys a fresh secret (its hash goes where the hub checks it); `answers` lets a
 * test make the first exchanges fail the way a busy controller does.
 */
async function enrollingHub(opts: { tls?: { key: string; cert: string }; answers?: Array<{ status: number; retryAfter?: string }> } = {}) {
  const tokens = new Map<string, { gatewayId: string; used: boolean }>();
  const exchanges: Exchange[] = [];
  const answers = [...(opts.answers ?? [])];
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exchanges.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      if (req.method !== 'POST' || req.url !== '/agent/enrol') return void res.writeHead(404).end();
      const scripted = answers.shift();
      if (scripted) return void res.writeHead(scripted.status, scripted.retryAfter ? { 'retry-after': scripted.retryAfter } : {}).end();
      const m = /^Enrol ([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{43})$/.exec(req.headers.authorization ?? '');
      const known = m ? tokens.get(m[2]!) : undefined;
      if (!m || !known || known.used || known.gatewayId !== m[1]) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"unauthorized"}}');
      known.used = true;
      const secret = randomBytes(32).toString('base64url');
      const gatewayId = known.gatewayId;
      db.gateway.update({ where: { id: gatewayId }, data: { secretHash: hashSecret(secret) } }).then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ gatewayId, secret })),
        () => res.writeHead(500).end(),
      );
    });
  };
  const hub = await startAgentHub(db, { ...(opts.tls ? { tls: opts.tls } : {}), http: serve });
  hubs.push(hub);
  return {
    hub,
    exchanges,
    issue(gatewayId: string): string {
      const token = newToken();
      tokens.set(token, { gatewayId, used: false });
      return token;
    },
  };
}

async function gateway(id: string, secret = randomBytes(32).toString('base64url')): Promise<string> {
  await db.gateway.create({ data: { id, name: id, provider: 'onprem', cidrs: '["10.1.0.0/24"]', secretHash: hashSecret(secret) } });
  return secret;
}

async function enrolAgent(opts: Omit<Parameters<typeof startTestAgent>[0], 'driver'>) {
  const rec = recordingLogger();
  const a = await startTestAgent({ backoff: { minMs: 50, maxMs: 2000 }, ...opts, driver: ipsec.driver('198.51.100.30'), log: rec.log });
  agents.push(a);
  return { a, rec };
}

const credentialsOf = async (stateDir: string) => JSON.parse(await readFile(path.join(stateDir, 'credentials.json'), 'utf8')) as { version: number; gatewayId: string; secret: string };

beforeAll(async () => {
  ({ db, cleanup: cleanupDb } = await createSqliteTestDb());
  pki = await makeTestPki();
  scratch = await mkdtemp(path.join(tmpdir(), 'agent-enrol-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().then(() => removeDir(a.stateDir))));
  await Promise.all(hubs.map((h) => h.stop()));
  await cleanupDb();
  await pki.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

describe('agent enrolment', () => {
  it('exchanges the token once, keeps the secret in a 0600 credentials.json, connects, and logs neither', async () => {
    await gateway('gwe-1');
    const e = await enrollingHub();
    const token = e.issue('gwe-1');
    // Given as a ws:// base URL: the exchange goes to the http:// of the same host.
    const { a, rec } = await enrolAgent({ controllerUrl: e.hub.url.replace('http:', 'ws:'), gatewayId: 'gwe-1', enrolmentToken: token });
    await expect.poll(() => e.hub.hub.isConnected(asGatewayId('gwe-1')), { timeout: 5000 }).toBe(true);
    expect(e.exchanges.map(({ at: _at, ...rest }) => rest)).toEqual([{ method: 'POST', url: '/agent/enrol', authorization: `Enrol gwe-1:${token}`, body: '' }]);
    const saved = await credentialsOf(a.stateDir);
    expect(Object.keys(saved).sort()).toEqual(['gatewayId', 'secret', 'version']);
    expect(saved.version).toBe(1);
    expect(saved.gatewayId).toBe('gwe-1');
    expect(saved.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(path.join(a.stateDir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    expect(rec.text()).not.toContain(token);
    expect(rec.text()).not.toContain(saved.secret);
    expect(rec.records.some((r) => /enrol/i.test(r.msg))).toBe(true);
    await a.stop();

    // A restart uses credentials.json: the (now used) token is not exchanged again.
    const again = await enrolAgent({ controllerUrl: e.hub.url, gatewayId: 'gwe-1', enrolmentToken: token, stateDir: a.stateDir });
    await expect.poll(() => e.hub.hub.isConnected(asGatewayId('gwe-1')), { timeout: 5000 }).toBe(true);
    expect(e.exchanges).toHaveLength(1);
    await again.a.stop();
  });

  it('prefers GATEWAY_SECRET over credentials.json and the token', async () => {
    const secret = await gateway('gwe-2');
    const e = await enrollingHub();
    const stateDir = await mkdtemp(path.join(scratch, 'state-'));
    await writeFile(path.join(stateDir, 'credentials.json'), JSON.stringify({ version: 1, gatewayId: 'gwe-2', secret: 'x'.repeat(43) }), { mode: 0o600 });
    const { a } = await enrolAgent({ controllerUrl: e.hub.url, gatewayId: 'gwe-2', secret, enrolmentToken: e.issue('gwe-2'), stateDir });
    await expect.poll(() => e.hub.hub.isConnected(asGatewayId('gwe-2')), { timeout: 5000 }).toBe(true);
    expect(e.exchanges).toEqual([]);
    await a.stop();
  });

  it("enrols when credentials.json belongs to another gateway, and replaces it", async () => {
    await gateway('gwe-3');
    const e = await enrollingHub();
    const stateDir = await mkdtemp(path.join(scratch, 'state-'));
    await writeFile(path.join(stateDir, 'credentials.json'), JSON.stringify({ version: 1, gatewayId: 'someone-else', secret: 'x'.repeat(43) }), { mode: 0o600 });
    const { a } = await enrolAgent({ controllerUrl: e.hub.url, gatewayId: 'gwe-3', enrolmentToken: e.issue('gwe-3'), stateDir });
    await expect.poll(() => e.hub.hub.isConnected(asGatewayId('gwe-3')), { timeout: 5000 }).toBe(true);
    expect(e.exchanges).toHaveLength(1);
    expect((await credentialsOf(stateDir)).gatewayId).toBe('gwe-3');
    await a.stop();
  });

  it('treats 401 on the exchange as final, saying how to get a new token', async () => {
    await gateway('gwe-4');
    const e = await enrollingHub();
    const token = newToken(); // never issued
    const { a, rec } = await enrolAgent({ controllerUrl: e.hub.url, gatewayId: 'gwe-4', enrolmentToken: token, backoff: { minMs: 50, maxMs: 100 } });
    await expect(a.done).rejects.toBeInstanceOf(AuthRejectedError);
    await expect(a.done).rejects.toThrow(/invalid, expired or already used.*POST \/api\/gateways\/gwe-4\/enrolment-token/);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(e.exchanges).toHaveLength(1);
    await expect(stat(path.join(a.stateDir, 'credentials.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(rec.text()).not.toContain(token);
    await a.done.catch((err: Error) => expect(err.message).not.toContain(token));
  });

  it('retries 429 (honouring Retry-After), 503 and an unreachable controller, then enrols', async () => {
    await gateway('gwe-5');
    const e = await enrollingHub({ answers: [{ status: 429, retryAfter: '1' }, { status: 503 }] });
    const { a } = await enrolAgent({ controllerUrl: ['http://127.0.0.1:1', e.hub.url], gatewayId: 'gwe-5', enrolmentToken: e.issue('gwe-5'), backoff: { minMs: 50, maxMs: 3000 } });
    await expect.poll(() => e.hub.hub.isConnected(asGatewayId('gwe-5')), { timeout: 10_000 }).toBe(true);
    expect(e.exchanges).toHaveLength(3);
    expect(e.exchanges[1]!.at - e.exchanges[0]!.at).toBeGreaterThanOrEqual(950);
    await a.stop();
  });

  it('verifies the controller (CA and pin) and goes through the proxy, as the WebSocket does', async () => {
    await gateway('gwe-6');
    await gateway('gwe-7');
    const e = await enrollingHub({ tls: pki.ca.server });
    const proxy = await startConnectProxy();
    try {
      const wrongPin = await pinOf(pki.wrongCa.server.certFile);
      const refused = await enrolAgent({ controllerUrl: e.hub.url, gatewayId: 'gwe-6', enrolmentToken: e.issue('gwe-6'), tls: { ca: pki.ca.cert, pins: [wrongPin] }, proxy: { https: proxy.url }, backoff: { minMs: 50, maxMs: 100 } });
      await expect.poll(() => refused.rec.records.filter((r) => /certificate problem/i.test(r.msg)).length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(e.exchanges).toEqual([]); // the token never reached a controller that failed the check
      await refused.a.stop();

      const { a } = await enrolAgent({ controllerUrl: e.hub.url, gatewayId: 'gwe-7', enrolmentToken: e.issue('gwe-7'), tls: { ca: pki.ca.cert, pins: [await pinOf(pki.ca.server.certFile)] }, proxy: { https: proxy.url } });
      await expect.poll(() => e.hub.hub.isConnected(asGatewayId('gwe-7')), { timeout: 5000 }).toBe(true);
      expect(e.exchanges).toHaveLength(1);
      expect(proxy.tunnels.filter((t) => t === `127.0.0.1:${e.hub.port}`).length).toBeGreaterThanOrEqual(2); // the POST and the WebSocket
      await a.stop();
    } finally {
      await proxy.stop();
    }
  });

  it('exits 3 from the entry point on a refused token, without printing it', async () => {
    await gateway('gwe-8');
    const e = await enrollingHub();
    const token = newToken();
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
        cwd: path.resolve(__dirname, '../..'),
        timeout: 20_000,
        env: { PATH: process.env.PATH ?? '', CLOUD_METADATA: 'none', VICI_SOCKET: path.join(scratch, 'no-charon.vici'), STATE_DIR: path.join(scratch, 'main-state'), CONTROLLER_URL: e.hub.url, GATEWAY_ID: 'gwe-8', ENROLMENT_TOKEN: token, LOG_LEVEL: 'debug' },
      }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr }));
    });
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/invalid, expired or already used/);
    expect(r.out).not.toContain(token);
  });
});

// The hub's own enrolment endpoint, once it exists (gateway-hub is another engineer's change).
const hubSource = readFileSync(path.resolve(__dirname, '../../gateway-hub/hub.ts'), 'utf8');
describe.runIf(/enrol/i.test(hubSource))('agent enrolment against the real hub', () => {
  it('enrols with a token stored as the hub expects it, then connects', async () => {
    await gateway('gwe-real');
    const hub = await startAgentHub(db);
    hubs.push(hub);
    const token = newToken();
    await db.enrolmentToken.create({ data: { id: `et-${randomBytes(4).toString('hex')}`, gatewayId: 'gwe-real', tokenHash: hashSecret(token), expiresAt: new Date(Date.now() + 600_000) } });
    const { a, rec } = await enrolAgent({ controllerUrl: hub.url, gatewayId: 'gwe-real', enrolmentToken: token });
    await expect.poll(() => hub.hub.isConnected(asGatewayId('gwe-real')), { timeout: 5000 }).toBe(true);
    expect((await credentialsOf(a.stateDir)).gatewayId).toBe('gwe-real');
    expect(rec.text()).not.toContain(token);
    await a.stop();
  });
});
