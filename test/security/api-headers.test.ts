// Browser-facing defences over real HTTP: security headers on every answer, and the Host allow-list
// that stops a DNS-rebinding page from talking to a loopback API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { jsonRequest, rawRequest, startTestApi, type RawResponse, type TestApi } from '../helpers/api-harness';

const TOKEN = 'header-test-token-0123456789';

describe('security headers', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ apiToken: TOKEN });
  });
  afterAll(async () => {
    await api?.close();
  });

  const expectHardened = (r: RawResponse) => {
    const csp = String(r.headers['content-security-policy']);
    // A same-origin console can load its own scripts, styles and API; nothing else, and no framing.
    for (const directive of ["default-src 'self'", "script-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-eval');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(r.headers['x-powered-by']).toBeUndefined();
  };

  it('sets them on successes, errors and refusals alike', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const answers = {
      health: await jsonRequest(api.port, 'GET', '/api/health'),
      list: await jsonRequest(api.port, 'GET', '/api/gateways', undefined, auth),
      notFound: await jsonRequest(api.port, 'GET', '/api/nothing', undefined, auth),
      unauthorized: await jsonRequest(api.port, 'GET', '/api/gateways'),
      invalid: await jsonRequest(api.port, 'POST', '/api/gateways', '{"name":', auth),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, r.status]))).toEqual({ health: 200, list: 200, notFound: 404, unauthorized: 401, invalid: 400 });
    for (const r of Object.values(answers)) expectHardened(r);
  });

  it('API answers are never cached (they carry one-time secrets)', async () => {
    const r = await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'g', provider: 'onprem', cidrs: ['10.1.0.0/24'] }, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(201);
    expect(r.headers['cache-control']).toBe('no-store');
    expectHardened(r);
  });
});

describe('Host allow-list', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ allowedHosts: ['localhost', '127.0.0.1', '::1', 'Controller.Example.com'], apiToken: TOKEN });
  });
  afterAll(async () => {
    await api?.close();
  });

  const health = (host: string | null) => rawRequest(api.port, { path: '/api/health', host });

  it.each([['localhost'], ['LOCALHOST:8080'], ['127.0.0.1'], ['127.0.0.1:3000'], ['[::1]'], ['[::1]:8080'], ['[0:0:0:0:0:0:0:1]:80'], ['controller.example.com'], ['CONTROLLER.example.COM:443'], ['controller.example.com.']])(
    'answers Host %s',
    async (host) => {
      expect((await health(host)).status).toBe(200);
    },
  );

  it.each([['evil.example'], ['evil.example:8080'], ['localhost.evil.example'], ['127.0.0.2'], ['[::2]'], ['::1'], ['[::1'], ['localhost:80:80'], ['user@localhost']])(
    'refuses Host %j with 403 before anything else',
    async (host) => {
      const r = await health(host);
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('forbidden');
      expect(r.json.error.message).toContain('API_ALLOWED_HOSTS');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    },
  );

  /** What the server answers to bytes a normal client would not send. */
  const rawHttp = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(api.port, '127.0.0.1', () => socket.end(request));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

  it('refuses a request without Host, or with an empty one', async () => {
    expect(await rawHttp('GET /api/health HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.\d 403 /);
    expect(await rawHttp('GET /api/health HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.\d 403 /);
    // Node itself refuses HTTP/1.1 without Host.
    expect((await health(null)).status).toBe(400);
  });

  it('refuses a foreign Host before authentication, parsing or storing anything', async () => {
    const before = await api.db.gateway.count();
    const post = await rawRequest(api.port, {
      method: 'POST',
      path: '/api/gateways',
      host: 'rebound.attacker.example',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: 'x', provider: 'onprem', cidrs: ['10.9.0.0/24'] }),
    });
    expect(post.status).toBe(403);
    expect(post.json.error.message).toContain('rebound.attacker.example');
    const noToken = await rawRequest(api.port, { path: '/api/gateways', host: 'rebound.attacker.example' });
    expect(noToken.status).toBe(403);
    const unknownPath = await rawRequest(api.port, { path: '/', host: 'rebound.attacker.example' });
    expect(unknownPath.status).toBe(403);
    expect(await api.db.gateway.count()).toBe(before);
  });

  it('keeps a long foreign Host out of the message', async () => {
    const r = await health(`${'a'.repeat(2000)}.example`);
    expect(r.status).toBe(403);
    expect(r.text.length).toBeLessThan(600);
  });

  it('is off with "*" in the list, or without a list', async () => {
    for (const allowedHosts of [['*'], undefined]) {
      const open = await startTestApi(allowedHosts ? { allowedHosts } : {});
      try {
        expect((await rawRequest(open.port, { path: '/api/health', host: 'anything.example' })).status).toBe(200);
      } finally {
        await open.close();
      }
    }
  });
});
