// Brute force against the API token: failed attempts are limited per source address, blocked
// addresses get 429 until their window ends, and failures are logged sampled, never with the token tried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logText, rawRequest, startTestApi, type TestApi } from '../helpers/api-harness';

const TOKEN = 'the-right-api-token-0123456789';

const get = (api: TestApi, token: string | undefined, localAddress?: string) =>
  rawRequest(api.port, { path: '/api/gateways', headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, ...(localAddress ? { localAddress } : {}) });

const authLines = (api: TestApi) => api.logs.filter((l) => /authenticat/i.test(l.msg));

describe('API authentication failures', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ apiToken: TOKEN });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 401 in the one error shape, with WWW-Authenticate', async () => {
    const r = await get(api, undefined, '127.0.0.9');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer');
    expect(r.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) as string } });
    expect((await get(api, TOKEN, '127.0.0.9')).status).toBe(200);
  });

  it('blocks an address after 10 failures in 60 s, the right token included, and no other address', async () => {
    const tried = Array.from({ length: 12 }, (_, i) => `guess-${i}-${'x'.repeat(20)}`);
    const statuses: number[] = [];
    for (const guess of tried) statuses.push((await get(api, guess)).status);
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429, 429]);
    const blocked = await get(api, TOKEN);
    expect(blocked.status).toBe(429);
    expect(blocked.json.error.code).toBe('rate_limited');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(blocked.json.error.details.retryAfterSeconds).toBeGreaterThan(0);
    // Another address has its own budget; health needs no token and stays up.
    expect((await get(api, TOKEN, '127.0.0.2')).status).toBe(200);
    expect((await get(api, 'other-address-guess-42', '127.0.0.2')).status).toBe(401);
    expect((await rawRequest(api.port, { path: '/api/health' })).status).toBe(200);
    // Sampled: the first failure and the block, not one line per attempt; never a token.
    const lines = authLines(api).filter((l) => l.fields.address === '127.0.0.1');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(2);
    const text = logText(api.logs);
    for (const secret of [...tried, TOKEN, 'other-address-guess-42']) expect(text).not.toContain(secret);
  });

  it('does not count requests that carry no token (a console not signed in yet) as guesses', async () => {
    for (let i = 0; i < 30; i++) expect((await get(api, undefined, '127.0.0.4')).status).toBe(401);
    expect((await get(api, TOKEN, '127.0.0.4')).status).toBe(200);
  });

  it('gives a storm of parallel guesses no more than 10 answers', async () => {
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => get(api, `storm-${i}`, '127.0.0.3')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
  });
});

describe('API authentication block', () => {
  it('ends with its window, and the failures are summarised in one line', async () => {
    const api = await startTestApi({ apiToken: TOKEN, authFailureLimit: { failures: 3, windowSeconds: 1 } });
    try {
      for (let i = 0; i < 3; i++) expect((await get(api, `nope-${i}`)).status).toBe(401);
      const blocked = await get(api, TOKEN);
      expect(blocked.status).toBe(429);
      await new Promise((r) => setTimeout(r, Number(blocked.headers['retry-after']) * 1000 + 100));
      expect((await get(api, TOKEN)).status).toBe(200);
      // The summary comes when the window has passed.
      await expect.poll(() => authLines(api).some((l) => l.fields.failed === 3 && l.fields.refused === 1), { timeout: 4000 }).toBe(true);
      expect(logText(api.logs)).not.toContain('nope-');
    } finally {
      await api.close();
    }
  });
});
