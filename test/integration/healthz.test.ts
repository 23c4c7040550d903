// GET /healthz through a real controller runtime: 200 with both checks on every listener (API,
// agents, metrics) and without a token though API_TOKEN is set, 503 naming Temporal when the path
// to it is cut (a TCP relay the test closes) and 200 again when it is back, 503 naming the
// database when the database is dropped under the controller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { startRuntime, type Runtime } from '../../controller/runtime';
import { HEALTHZ_PATH, HealthProbe, HealthzAnswer } from '../../api/health';
import { testPayloadKey, TEST_CLOUD_ENDPOINT_ALLOW } from '../helpers/controller';
import { startTestTemporal, temporalCliAvailable, type TestTemporal } from '../helpers/temporal';
import { createPgTestDb, createSqliteTestDb, pgAvailable, type TestDb } from '../helpers/db';
import { portOutsideEphemeralRange, waitFor } from '../helpers/procs';
import { expectSdkLogs } from '../helpers/sdk-logs';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';

const TOKEN = 'healthz-test-token-0123456789';
const cli = temporalCliAvailable();
const withPg = await pgAvailable();
// The worker's polls fail while Temporal is cut off; those lines are expected here.
expectSdkLogs(/./);

/** A TCP relay to `target` on a fixed port that can be closed (every connection cut) and opened again. */
class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** GET with a chosen Host header (fetch does not let a test set it) and no token. */
function get(url: string, p: string, o: { method?: string; host?: string; token?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(p, url);
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method: o.method ?? 'GET', headers: { ...(o.host ? { host: o.host } : {}), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${u.href} timed out`)));
    req.end();
  });
}

async function healthz(url: string): Promise<{ status: number; answer: HealthzAnswer; ms: number }> {
  const started = Date.now();
  const res = await get(url, HEALTHZ_PATH);
  return { status: res.status, answer: HealthzAnswer.parse(JSON.parse(res.body)), ms: Date.now() - started };
}

describe.skipIf(!cli.ok)('GET /healthz (real controller runtime)', () => {
  let temporal: TestTemporal;
  let db: TestDb;
  let relay: Relay;
  let rt: Runtime & { url: string; agentUrl: string; metricsUrl: string };

  beforeAll(async () => {
    temporal = await startTestTemporal();
    // PostgreSQL when there is one: the last test drops the database under the controller.
    db = withPg ? await createPgTestDb() : await createSqliteTestDb();
    const [host, port] = temporal.address.split(':') as [string, string];
    relay = new Relay(await portOutsideEphemeralRange(), { host, port: Number(port) });
    await relay.open();
    const started = await startRuntime({
      roles: ['api', 'hub', 'worker'],
      // The DNS-rebinding guard answers only this name: probes address the pod by IP and must pass.
      api: { host: '127.0.0.1', port: 0, allowedHosts: ['mesh.example.test'] },
      agent: { host: '127.0.0.1', port: 0 },
      metricsListener: { host: '127.0.0.1', port: 0 },
      databaseUrl: db.url,
      temporalAddress: relay.address,
      temporalNamespace: temporal.namespace,
      payloadKey: testPayloadKey(),
      cloudEndpointAllow: TEST_CLOUD_ENDPOINT_ALLOW,
      taskQueue: `healthz-${Date.now()}`,
      instanceId: 'healthz-test',
      secretKey: parseSecretKey(newSecretKey()),
      apiToken: TOKEN,
      heartbeatMs: 1000,
      rpcTimeoutMs: 10_000,
      helloTimeoutMs: 5000,
      log: silentLogger,
      workflowBundle: temporal.bundle,
    });
    rt = { ...started, url: started.url!, agentUrl: started.agentUrl!, metricsUrl: started.metricsUrl! };
  });

  afterAll(async () => {
    await rt?.close();
    await relay?.close();
    await db?.cleanup();
    await temporal?.stop();
  });

  it('answers 200 with both checks on the API, agent and metrics listeners, without a token and whatever the Host', async () => {
    for (const url of [rt.url, rt.agentUrl, rt.metricsUrl]) {
      const { status, answer, ms } = await healthz(url);
      expect({ url, status, answer }).toEqual({ url, status: 200, answer: { status: 'ok', checks: { database: 'ok', temporal: 'ok' } } });
      expect(ms).toBeLessThan(2500);
    }
    // The rest of the API is behind the token and the Host guard; /healthz is behind neither.
    expect((await get(rt.url, '/api/gateways', { host: 'mesh.example.test' })).status).toBe(401);
    expect((await get(rt.url, '/api/health')).status).not.toBe(200);
    const foreign = await get(rt.url, HEALTHZ_PATH, { host: '10.1.2.3:8080' });
    expect(foreign.status).toBe(200);
    expect(foreign.headers['cache-control']).toBe('no-store');
    // HEAD for probes that want no body; nothing but GET/HEAD.
    const head = await get(rt.url, HEALTHZ_PATH, { method: 'HEAD' });
    expect([head.status, head.body]).toEqual([200, '']);
    const post = await get(rt.url, HEALTHZ_PATH, { method: 'POST' });
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
  });

  it('stays 200 under a burst of probes: no rate limit, no token failures counted, no audit records', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(rt.url, HEALTHZ_PATH)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    // The token still works (the burst did not count as failed authentications) and the trail has nothing of it.
    const audit = await get(rt.url, '/api/audit', { host: 'mesh.example.test', token: TOKEN });
    expect(audit.status).toBe(200);
    const { records } = JSON.parse(audit.body) as { records: Array<{ action: string }> };
    expect(records.filter((r) => r.action.includes('healthz'))).toEqual([]);
  });

  it('answers 503 naming Temporal within the check timeout when Temporal is unreachable, and 200 once it is back', async () => {
    await relay.close();
    const down = await waitFor('/healthz to answer 503', async () => {
      const h = await healthz(rt.url);
      return h.status === 503 ? h : undefined;
    }, 20_000, 200);
    expect(down.answer.status).toBe('unavailable');
    expect(down.answer.checks.database).toBe('ok');
    expect(['failed', 'timeout']).toContain(down.answer.checks.temporal);
    // Bounded by the 2 s check timeout, so a kubelet's probe (5 s default) gets an answer.
    const again = await healthz(rt.agentUrl);
    expect(again.status).toBe(503);
    expect(again.ms).toBeLessThan(3000);
    expect(JSON.stringify(again.answer)).not.toMatch(/127\.0\.0\.1|ECONN|UNAVAILABLE/);

    await relay.open();
    await waitFor('/healthz to answer 200 again', async () => ((await healthz(rt.url)).status === 200 ? true : undefined), 60_000, 250);
  });

  it.skipIf(!withPg)('answers 503 naming the database when the database is gone', async () => {
    await db.cleanup(); // DROP DATABASE ... WITH (FORCE): every connection of the controller is cut
    const down = await waitFor('/healthz to answer 503', async () => {
      const h = await healthz(rt.url);
      return h.status === 503 ? h : undefined;
    }, 20_000, 200);
    expect(down.answer.checks.database).not.toBe('ok');
    expect(down.answer.checks.temporal).toBe('ok');
  });
});

describe('HealthProbe (the checks behind /healthz)', () => {
  it('answers "timeout" for a hung check within its limit, and never stacks a second call on it', async () => {
    let calls = 0;
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    let now = 0;
    const probe = new HealthProbe({ database: async () => undefined, temporal: () => (calls++, hung) }, silentLogger, { timeoutMs: 50, cacheMs: 1000, now: () => now });
    const started = Date.now();
    expect(await probe.report()).toEqual({ status: 'unavailable', checks: { database: 'ok', temporal: 'timeout' } });
    expect(Date.now() - started).toBeLessThan(1000);
    now += 5000; // past the cache: a new round, but the hung call is waited on again, not repeated
    expect((await probe.report()).checks.temporal).toBe('timeout');
    expect(calls).toBe(1);
    release();
    now += 5000;
    expect(await probe.report()).toEqual({ status: 'ok', checks: { database: 'ok', temporal: 'ok' } });
    // Once it has settled, the next round calls again.
    now += 5000;
    expect((await probe.report()).checks.temporal).toBe('ok');
    expect(calls).toBe(2);
  });

  it('reuses a result for the cache period and shares one round among concurrent probes', async () => {
    let calls = 0;
    let fail = true;
    let now = 0;
    const probe = new HealthProbe({ database: async () => { calls++; if (fail) throw new Error('connection refused to db.internal:5432'); } }, silentLogger, { cacheMs: 1000, now: () => now });
    const answers = await Promise.all(Array.from({ length: 20 }, () => probe.report()));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ status: 'unavailable', checks: { database: 'failed' } })]));
    expect(calls).toBe(1);
    fail = false;
    now += 500;
    expect((await probe.report()).checks.database).toBe('failed'); // cached
    now += 600;
    expect((await probe.report()).checks.database).toBe('ok');
    expect(calls).toBe(2);
  });
});
