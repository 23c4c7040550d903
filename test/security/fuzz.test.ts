// The fuzz harness behind the security suite: hundreds of malformed REST requests across every
// endpoint and hundreds of malformed WebSocket frames and sessions against one real controller
// process. Whatever arrives: no response ≥ 500, no crash, nothing stored on refusal, and the
// process's open file descriptors back to their baseline afterwards. Inputs come from a seeded
// generator, so a failure names a case that can be replayed.
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { Client, Connection } from '@temporalio/client';
import { missing, withStack } from '../helpers/with-stack';
import { LogDir, dumpLogsOnFailure, startControllerProc, waitFor, type ControllerProc } from '../helpers/procs';
import { newSecretKey } from '../../lib/crypto';
import { seededRandom } from '../failure/throttle-proxy';

// The controller is a process of its own (its file descriptors are counted); the test reads its database.
const needs = { temporal: true, db: 'sqlite', name: 'fuzz' } as const;
const reason = missing(needs, 'fuzz harness');

interface RawRequest {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Requests that must change nothing even when they were (wrongly) accepted. */
  mutating: boolean;
}

interface RawResponse {
  status: number;
  body: string;
}

/** One request on its own connection (no pooled sockets hide a leak), raw bytes as given. */
function send(port: number, r: RawRequest, sourceAddress = '127.0.0.1'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { connection: 'close', ...r.headers }, agent: false, localAddress: sourceAddress });
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${r.label}`)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 500) }));
    });
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

const json = (v: unknown): string => JSON.stringify(v);

/** Values of every wrong shape, plus hostile strings. */
const WRONG: unknown[] = [
  null, true, 0, -1, 1e308, 'x', '', ' ', [], {}, [null], [1, 2], { a: 1 },
  'a'.repeat(100_000), '💥'.repeat(2_000), '\u0000\u0001\u001f', '\ud800', 'ﷺ‮evil', '../../etc/passwd', '<script>alert(1)</script>', "' OR 1=1 --", '${jndi:ldap://x}',
];
const BAD_CIDRS: unknown[] = [
  ['fe80::%eth0/64'], ['::ffff:10.1.0.0/120'], ['0.0.0.0/0'], ['::/0'], ['10.1.0.0/33'], ['10.1.0.5/24'], ['010.1.0.0/24'], [' 10.1.0.0/24'], ['10.1.0.0'],
  ['10.1.0.0/24', '10.1.0.0/16'], ['2001:db8::/129'], ['256.1.0.0/24'], ['10.1.0.0/-1'], ['10.1.0.0/24/1'], [''], Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/24`),
  ['1.2.3.4/32\n'], ['１０.1.0.0/24'], [10], [{ cidr: '10.1.0.0/24' }],
];
const PROTO_BODIES = ['{"__proto__":{"admin":true},"name":"p","provider":"onprem","cidrs":["10.200.0.0/24"],"isAdmin":1}', '{"constructor":{"prototype":{"polluted":true}}}', '{"__proto__":null}', '{"a":{"__proto__":{"x":1}},"b":"x"}'];

function restCases(rand: () => number, ids: { gateway: string; link: string; account: string }): RawRequest[] {
  const cases: RawRequest[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const jsonHeaders = { 'content-type': 'application/json' };
  const add = (label: string, method: string, path: string, body?: unknown, headers: Record<string, string> = jsonHeaders) =>
    cases.push({ label, method, path, headers, ...(body === undefined ? {} : { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : json(body) }), mutating: !['GET', 'HEAD', 'OPTIONS'].includes(method) });

  const onprem = { name: 'fz', provider: 'onprem', cidrs: ['10.250.0.0/24'] };
  const cloud = { name: 'fzc', provider: 'aliyun', region: 'cn-hangzhou', publicIp: '203.0.113.250', account: ids.account };
  const account = { name: 'fza', provider: 'aliyun', credentials: { accessKeyId: 'LTAIx', accessKeySecret: 'y' }, endpoints: { vpc: 'https://vpc.cn-hangzhou.aliyuncs.com' } };
  const link = { a: ids.gateway, b: ids.gateway };
  const change = { cidrs: { a: ['10.250.0.0/24'] } };

  // Every field of every body, set to every wrong shape.
  const bodies: Array<[string, string, Record<string, unknown>]> = [
    ['POST', '/api/gateways', onprem],
    ['POST', '/api/gateways', cloud],
    ['POST', '/api/cloud-accounts', account],
    ['POST', '/api/links', link],
    ['PATCH', `/api/links/${ids.link}`, change],
    ['POST', `/api/links/${ids.link}/plan`, change],
    ['POST', `/api/gateways/${ids.gateway}/enrolment-token`, { ttlSeconds: 600 }],
  ];
  for (const [method, path, valid] of bodies) {
    for (const field of Object.keys(valid)) {
      for (const wrong of WRONG) {
        // A name that stays a valid name is not a malformed request; every other field is.
        if (field === 'name' && typeof wrong === 'string' && /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(wrong) && wrong.length <= 64) continue;
        // No endpoint overrides at all is a valid account.
        if (field === 'endpoints' && json(wrong) === '{}') continue;
        add(`${method} ${path} ${field}=${json(wrong).slice(0, 40)}`, method, path, { ...valid, [field]: wrong });
      }
    }
    add(`${method} ${path} unknown field`, method, path, { ...valid, isAdmin: true });
    // An empty body is a valid request where every field is optional (an enrolment token).
    if (!path.endsWith('/enrolment-token')) add(`${method} ${path} empty`, method, path, {});
    add(`${method} ${path} array`, method, path, [valid]);
  }
  // CIDR fields with every bad CIDR.
  for (const cidrs of BAD_CIDRS) {
    add(`gateway cidrs ${json(cidrs).slice(0, 40)}`, 'POST', '/api/gateways', { ...onprem, name: `fz-${Math.floor(rand() * 1e9)}`, cidrs });
    add(`link cidrs ${json(cidrs).slice(0, 40)}`, 'POST', '/api/links', { ...link, cidrs: { a: cidrs } });
    add(`patch cidrs ${json(cidrs).slice(0, 40)}`, 'PATCH', `/api/links/${ids.link}`, { cidrs: { a: cidrs, b: cidrs } });
    add(`plan cidrs ${json(cidrs).slice(0, 40)}`, 'POST', `/api/links/${ids.link}/plan`, { cidrs: { b: cidrs } });
  }
  for (const body of PROTO_BODIES) for (const path of ['/api/gateways', '/api/links', '/api/cloud-accounts']) add(`prototype keys ${path}`, 'POST', path, body);

  // Bodies that are not what they say they are.
  const garbage = [Buffer.from('not json'), Buffer.from('{"name":'), Buffer.from('\xff\xfe\x00{'), randomBytes(512), Buffer.from('[' .repeat(100_000)), Buffer.from('{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000))];
  const targets = [['POST', '/api/gateways'], ['POST', '/api/links'], ['PATCH', `/api/links/${ids.link}`], ['POST', '/api/cloud-accounts'], ['POST', `/api/links/${ids.link}/rotate-key`]] as const;
  for (const [method, path] of targets) {
    for (const g of garbage) add(`${method} ${path} garbage ${g.length}B`, method, path, g);
    for (const encoding of ['gzip', 'br', 'deflate', 'compress', 'x-unknown']) add(`${method} ${path} corrupt ${encoding}`, method, path, randomBytes(64), { ...jsonHeaders, 'content-encoding': encoding });
    add(`${method} ${path} gzip bomb`, method, path, zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)), { ...jsonHeaders, 'content-encoding': 'gzip' });
    add(`${method} ${path} 10 MB`, method, path, Buffer.alloc(10 * 1024 * 1024, 0x61), jsonHeaders);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16']) add(`${method} ${path} ${type}`, method, path, json(onprem), { 'content-type': type });
    add(`${method} ${path} length lies`, method, path, '{}', { ...jsonHeaders, 'content-length': '2' });
  }

  // Paths and ids.
  const badIds = ['%E0%A4%A', '%', '%%', '%00', '..%2F..%2Fetc', 'x'.repeat(10_000), '💥', '%F0%9F%92%A5', 'gw"\'<>', '%C0%AE%C0%AE', ' ', 'null', '__proto__', 'constructor'];
  for (const id of badIds) {
    for (const [method, path] of [['GET', `/api/gateways/${id}`], ['GET', `/api/links/${id}`], ['DELETE', `/api/links/${id}`], ['PATCH', `/api/links/${id}`], ['POST', `/api/links/${id}/plan`], ['POST', `/api/links/${id}/rotate-key`], ['GET', `/api/cloud-accounts/${id}`], ['DELETE', `/api/cloud-accounts/${id}`], ['POST', `/api/gateways/${id}/enrolment-token`]] as const) {
      add(`${method} ${path.slice(0, 60)}`, method, path, method === 'GET' || method === 'DELETE' ? undefined : change);
    }
  }
  for (const method of ['PUT', 'TRACE', 'OPTIONS', 'PROPFIND', 'CONNECT_']) for (const path of ['/api/gateways', '/api/links', `/api/links/${ids.link}`]) add(`${method} ${path}`, method.replace('_', ''), path, undefined);
  for (const query of ['?includeDeleted=%E0', '?includeDeleted[]=1&includeDeleted=x', `?${'a=1&'.repeat(2000)}`, '?__proto__[x]=1']) add(`GET links${query.slice(0, 30)}`, 'GET', `/api/links${query}`);
  // Headers.
  add('bad host', 'GET', '/api/gateways', undefined, { host: 'evil.example' });
  add('bad authorization', 'GET', '/api/gateways', undefined, { authorization: `Bearer ${'x'.repeat(5000)}` });
  add('unicode header', 'GET', '/api/gateways', undefined, { 'x-test': 'Ã©' });

  // Shuffle (deterministically) so no endpoint is only hit in one state.
  for (let i = cases.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [cases[i], cases[j]] = [cases[j]!, cases[i]!];
  }
  void pick;
  return cases;
}

describe.skipIf(reason)('fuzz harness: malformed REST requests and WebSocket traffic against one controller', () => {
  const stack = withStack(needs);
  let logs: LogDir;
  let ctl: ControllerProc;
  let ids: { gateway: string; gateway2: string; secret: string; link: string; account: string };
  const fdCount = () => readdirSync(`/proc/${ctl.pid}/fd`).length;
  const counts = async () => ({
    gateways: await stack.db.db.gateway.count(),
    links: await stack.db.db.link.count(),
    events: await stack.db.db.linkEvent.count(),
    accounts: await stack.db.db.cloudAccount.count(),
    tokens: await stack.db.db.enrolmentToken.count(),
    keyVersions: (await stack.db.db.link.findMany({ select: { keyVersion: true, aCidrs: true, bCidrs: true, state: true } })).map((l) => JSON.stringify(l)).join(),
    gatewaysShape: (await stack.db.db.gateway.findMany({ select: { cidrs: true, publicIp: true, secretHash: true } })).map((g) => JSON.stringify(g)).join(),
  });
  let baselineFds = 0;

  beforeAll(async () => {
    logs = new LogDir('fuzz');
    stack.onClose(async () => {
      await ctl?.stop();
      logs.remove();
    });
    ctl = await startControllerProc({ name: 'fuzz', logs, temporalAddress: stack.temporal.address, temporalNamespace: stack.temporal.namespace, databaseUrl: stack.db.url, taskQueue: stack.taskQueue, secretKey: newSecretKey() });
    const g1 = await ctl.api<{ id: string; agentSecret: string }>('POST', '/api/gateways', { name: 'fuzz-a', provider: 'onprem', cidrs: ['10.240.0.0/24'] });
    const g2 = await ctl.api<{ id: string }>('POST', '/api/gateways', { name: 'fuzz-b', provider: 'onprem', cidrs: ['10.241.0.0/24'] });
    const account = await ctl.api<{ id: string }>('POST', '/api/cloud-accounts', { name: 'fuzz-acct', provider: 'aws' });
    const link = await ctl.api<{ id: string }>('POST', '/api/links', { a: g1.body.id, b: g2.body.id });
    expect([g1.status, g2.status, account.status, link.status]).toEqual([201, 201, 201, 202]);
    ids = { gateway: g1.body.id, gateway2: g2.body.id, secret: g1.body.agentSecret, link: link.body.id, account: account.body.id };
    // Let start-up settle (workers, pools) before taking the baseline.
    await new Promise((r) => setTimeout(r, 2000));
    baselineFds = fdCount();
  }, 120_000);

  it('≥ 500 malformed REST requests: none answered ≥ 500, none stores anything', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const before = await counts();
    const cases = restCases(seededRandom(0x5ec0921), ids);
    expect(cases.length).toBeGreaterThanOrEqual(500);
    const serverErrors: string[] = [];
    const accepted: string[] = [];
    // A few at a time, each on its own connection; distinct loopback sources, so the failed-auth
    // limiter (which is per address) does not turn the rest into 429s.
    for (let i = 0; i < cases.length; i += 8) {
      await Promise.all(
        cases.slice(i, i + 8).map(async (c, k) => {
          const r = await send(ctl.port!, c, `127.0.${1 + ((i + k) % 200)}.${1 + Math.floor((i + k) / 200)}`).catch((err: Error) => ({ status: -1, body: err.message }));
          // A reset connection (e.g. a 10 MB body cut off after the 413) is an answer too, not a crash.
          if (r.status >= 500) serverErrors.push(`${c.label} → ${r.status} ${r.body}`);
          if (c.mutating && r.status >= 200 && r.status < 300) accepted.push(`${c.label} → ${r.status} ${r.body.slice(0, 120)}`);
        }),
      );
    }
    console.log(`REST fuzz: ${cases.length} requests, ${serverErrors.length} answered ≥ 500, ${accepted.length} accepted`);
    expect(serverErrors).toEqual([]);
    expect(accepted).toEqual([]);
    expect(ctl.running()).toBe(true);
    expect(await counts()).toEqual(before);
    expect((await ctl.api('GET', '/api/health')).status).toBe(200);
  }, 300_000);

  it('≥ 200 malformed WebSocket frames and sessions, and 500 idle pre-auth sockets: no crash, no leak', async ({ onTestFailed }) => {
    onTestFailed(dumpLogsOnFailure(logs));
    const before = await counts();
    const port = ctl.agentPort!;
    const url = `ws://127.0.0.1:${port}/agent`;
    const outcomes: string[] = [];
    let sessions = 0;

    /** One session: connect with `headers`, optionally say hello, send `frames`, report how it ended. */
    const session = (label: string, o: { headers?: Record<string, string>; hello?: boolean; frames?: Array<string | Buffer>; path?: string; source?: string }) =>
      new Promise<void>((resolve) => {
        sessions++;
        const ws = new WebSocket(`ws://127.0.0.1:${port}${o.path ?? '/agent'}`, { headers: o.headers ?? {}, handshakeTimeout: 10_000, maxPayload: 4 << 20, localAddress: o.source ?? '127.0.0.1' });
        const done = (how: string) => {
          outcomes.push(`${label}: ${how}`);
          ws.terminate();
          resolve();
        };
        const timer = setTimeout(() => done('still open after 3 s'), 3000);
        ws.on('unexpected-response', (_req, res) => {
          clearTimeout(timer);
          done(`HTTP ${res.statusCode}`);
        });
        ws.on('error', () => undefined);
        ws.on('close', (code) => {
          clearTimeout(timer);
          done(`closed ${code}`);
        });
        ws.on('open', () => {
          if (o.hello) ws.send(json({ type: 'hello', protocol: 1, facts: { agentVersion: 'fuzz' } }));
          for (const f of o.frames ?? []) ws.send(f);
        });
      });
    const auth = (secret = ids.secret, gateway = ids.gateway) => ({ authorization: `Bearer ${gateway}:${secret}` });

    // Frames on an authenticated session (one at a time: a reconnect replaces the previous one).
    const frames: Array<[string, string | Buffer]> = [
      ['not json', 'hello there'], ['empty', ''], ['binary', randomBytes(64)], ['number', '42'], ['null', 'null'], ['array', '[]'],
      ['unknown type', json({ type: 'exec', cmd: 'reboot' })], ['hello bad facts', json({ type: 'hello', protocol: 1, facts: { agentVersion: 'x', publicIp: 'not-an-ip;$(reboot)' } })],
      ['facts huge', json({ type: 'facts', facts: { agentVersion: 'x', cidrs: Array.from({ length: 10_000 }, (_, i) => `10.${i % 256}.0.0/24`) } })],
      ['facts bad instance', json({ type: 'facts', facts: { agentVersion: 'x', cloud: { provider: 'aws', instanceId: "i-0'; DROP TABLE" } } })],
      ['response unknown id', json({ type: 'response', id: 'nope', ok: true, result: {} })], ['response bad shape', json({ type: 'response', id: 1, ok: 'yes' })],
      ['tunnel other link', json({ type: 'tunnel', name: 'link-lnnotmine0000000000', up: true, at: new Date().toISOString() })], ['tunnel 1 MiB reason', json({ type: 'tunnel', name: `link-${ids.link}`, up: false, reason: 'r'.repeat(1 << 20), at: new Date().toISOString() })],
      ['tunnel bad name', json({ type: 'tunnel', name: '../../x', up: true, at: 'now' })], ['oversized', Buffer.alloc((1 << 20) + 10, 0x61).toString()], ['deep nesting', '['.repeat(50_000)],
      ['prototype', '{"type":"facts","facts":{"agentVersion":"x","__proto__":{"polluted":true}}}'], ['lone surrogate', '{"type":"facts","facts":{"agentVersion":"\ud800"}}'], ['invalid utf-8', Buffer.from([0xc3, 0x28])],
    ];
    for (const [label, frame] of frames) {
      await session(`frame ${label} before hello`, { headers: auth(), frames: [frame] });
      await session(`frame ${label} after hello`, { headers: auth(), hello: true, frames: [frame] });
    }
    // Floods on one session: identical facts, flapping tunnel reports, replies to unknown ids.
    const flood = [
      ...Array.from({ length: 300 }, () => json({ type: 'facts', facts: { agentVersion: 'fuzz' } })),
      ...Array.from({ length: 300 }, (_, i) => json({ type: 'tunnel', name: `link-${ids.link}`, up: i % 2 === 0, reason: 'flap', at: new Date().toISOString() })),
      ...Array.from({ length: 300 }, (_, i) => json({ type: 'response', id: `x${i}`, ok: true, result: {} })),
    ];
    // What the flood costs the link's workflow: a bounded number of history events, not ~2 per frame.
    const historyLength = async (): Promise<number> => {
      const connection = await Connection.connect({ address: stack.temporal.address });
      try {
        return ((await new Client({ connection, namespace: stack.temporal.namespace }).workflow.getHandle(`link-${ids.link}`).fetchHistory()).events ?? []).length;
      } finally {
        await connection.close();
      }
    };
    const historyBefore = await historyLength();
    await session('flood', { headers: auth(), hello: true, frames: flood });
    await new Promise((r) => setTimeout(r, 3000));
    const historyGrowth = (await historyLength()) - historyBefore;
    // Sessions that never get that far: bad or missing credentials, wrong paths, bad handshakes.
    const badAuth: Array<[string, Record<string, string>]> = [
      ['none', {}], ['basic', { authorization: 'Basic Zm9vOmJhcg==' }], ['wrong secret', auth('w'.repeat(43))], ['unknown gateway', auth(ids.secret, 'gwunknown')],
      ['malformed', { authorization: 'Bearer :' }], ['huge', { authorization: `Bearer ${'a'.repeat(7000)}` }], ['latin-1', { authorization: 'Bearer gwÿ:xxxxxxxxxxxxxxxxxxxx' }],
      ['enrol scheme', { authorization: `Enrol ${ids.gateway}:${'t'.repeat(43)}` }],
    ];
    for (let i = 0; i < 60; i++) {
      const [label, headers] = badAuth[i % badAuth.length]!;
      await session(`auth ${label} #${i}`, { headers, source: `127.1.${Math.floor(i / 8)}.${1 + (i % 8)}` });
    }
    for (const path of ['/', '/api/gateways', '/agentx', '/agent/../api', '/%E0%A4%A', `/${'x'.repeat(4000)}`]) await session(`path ${path.slice(0, 20)}`, { headers: auth(), path, source: '127.2.0.1' });
    // Brute force from one address: refused, then rate-limited, never an error.
    for (let i = 0; i < 40; i++) await session(`brute #${i}`, { headers: auth(randomBytes(32).toString('base64url')), source: '127.3.0.1' });
    // Raw handshakes a WebSocket library would not send.
    const raw = [
      'GET /agent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /agent HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n\r\n',
      `GET /agent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer ${ids.gateway}:${ids.secret}\r\n\r\n`,
      'POST /agent/enrol HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(2000),
      'GARBAGE\r\n\r\n', `GET /${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      // Bytes no WebSocket client library would put in a header.
      `GET /agent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer gw💥:x\r\n\r\n`,
    ];
    for (const [i, text] of raw.entries()) {
      sessions++;
      outcomes.push(`raw #${i}: ${await new Promise<string>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(text));
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => resolve(got.split('\r\n')[0] || 'closed'));
        setTimeout(() => { s.destroy(); }, 3000);
      })}`);
    }
    // 500 idle sockets that never send a byte.
    const idle = await Promise.all(
      Array.from({ length: 500 }, (_, i) => new Promise<net.Socket>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.4.${Math.floor(i / 250)}.${1 + (i % 250)}` }, () => resolve(s));
        s.on('error', () => resolve(s));
      })),
    );
    const closedByServer = await waitFor('idle pre-auth sockets to be closed by the controller', async () => {
      const closed = idle.filter((s) => s.destroyed || s.readyState === 'closed' || (s as unknown as { _readableState: { ended: boolean } })._readableState.ended).length;
      return closed === idle.length ? closed : undefined;
    }, 30_000, 250).catch(() => idle.filter((s) => s.destroyed).length);
    for (const s of idle) s.destroy();

    const serverErrors = outcomes.filter((o) => /HTTP 5\d\d|^raw.*HTTP\/1\.1 5\d\d/.test(o));
    console.log(`WebSocket fuzz: ${sessions} sessions, ${frames.length * 2 + flood.length} malformed frames, ${idle.length} idle sockets (${closedByServer} closed by the controller), ${serverErrors.length} answered ≥ 500`);
    expect(sessions + frames.length * 2 + flood.length).toBeGreaterThanOrEqual(200);
    expect(serverErrors).toEqual([]);
    // A session that never authenticated is answered and closed; an authenticated agent sending
    // frames the protocol allows (a reply nobody waits for, a report about another link) may stay.
    expect(outcomes.filter((o) => /^(auth|brute|path)/.test(o) && o.includes('still open'))).toEqual([]);
    expect(outcomes.filter((o) => /before hello|bad facts|huge|oversized|deep nesting|binary|not json|invalid utf-8/.test(o) && o.includes('still open'))).toEqual([]);
    console.log(`the flood of ${flood.length} frames grew the link workflow's history by ${historyGrowth} events`);
    expect(historyGrowth).toBeLessThan(60);
    expect(closedByServer).toBe(idle.length);
    expect(ctl.running()).toBe(true);
    // Nothing the agent sent was stored: no gateway, link, key or address changed.
    expect(await counts()).toEqual(before);
    // The controller gave back every socket it opened.
    await waitFor('open descriptors back to the baseline', async () => (fdCount() <= baselineFds + 2 ? true : undefined), 30_000, 250).catch(() => undefined);
    expect(fdCount()).toBeLessThanOrEqual(baselineFds + 2);
    // And it still serves: a proper agent session is welcomed.
    const welcomed = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(url, { headers: auth(), localAddress: '127.9.0.1' });
      ws.on('message', (d: Buffer) => { resolve(d.toString('utf8').includes('"welcome"')); ws.terminate(); });
      ws.on('open', () => ws.send(json({ type: 'hello', protocol: 1, facts: { agentVersion: 'fuzz' } })));
      ws.on('error', () => resolve(false));
      ws.on('unexpected-response', () => resolve(false));
    });
    expect(welcomed).toBe(true);
  }, 300_000);
});
