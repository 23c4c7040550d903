// API tokens through the API: issued once, listed without secrets, revoked at once; and the rule
// for a loopback controller without API_TOKEN: open until the first unrevoked token exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../store';
import { logText, rawRequest, startTestApi, type TestApi } from '../helpers/api-harness';

const SHARED = 'the-shared-api-token-0123456789';

const json = (api: TestApi, method: string, path: string, token: string | undefined, body?: unknown) =>
  rawRequest(api.port, {
    method,
    path,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

describe('API tokens', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ apiToken: SHARED });
  });
  afterAll(async () => api?.close());

  it('issues a token once, lists it without the secret, and revokes it at once', async () => {
    const created = await json(api, 'POST', '/api/tokens', SHARED, { name: 'ci deploy', role: 'operator', expiresInDays: 30 });
    expect(created.status).toBe(201);
    const token = created.json.token as string;
    expect(token).toMatch(/^imt_[A-Za-z0-9_-]{43}$/);
    expect(created.json).toMatchObject({ name: 'ci deploy', role: 'operator', createdBy: 'API_TOKEN', state: 'active', revokedAt: null, lastUsedAt: null });
    expect(created.json.prefix).toBe(`${token.slice(0, 12)}…`);
    const days = (Date.parse(created.json.expiresAt as string) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);

    const who = await json(api, 'GET', '/api/whoami', token);
    expect(who.json).toEqual({ role: 'operator', actor: 'ci deploy', via: 'api-token', tokenId: created.json.id });
    expect((await json(api, 'GET', '/api/tokens', token)).status).toBe(403);

    const listed = await json(api, 'GET', '/api/tokens', SHARED);
    expect(listed.text).not.toContain(token);
    expect(listed.text).not.toContain(token.slice(12));
    const row = (listed.json.tokens as Array<Record<string, unknown>>).find((t) => t.id === created.json.id)!;
    expect(row.lastUsedAt).not.toBeNull();
    expect(row.token).toBeUndefined();

    expect((await json(api, 'DELETE', `/api/tokens/${created.json.id}`, SHARED)).status).toBe(204);
    const after = await json(api, 'GET', '/api/gateways', token);
    expect(after.status).toBe(401);
    expect(after.json.error.message).toMatch(/revoked/);
    expect((await json(api, 'DELETE', `/api/tokens/${created.json.id}`, SHARED)).status).toBe(204);
    const relisted = await json(api, 'GET', '/api/tokens', SHARED);
    expect((relisted.json.tokens as Array<Record<string, unknown>>).find((t) => t.id === created.json.id)).toMatchObject({ state: 'revoked' });
    expect(logText(api.logs)).not.toContain(token);
  });

  it('refuses bad requests with a 400 naming the field', async () => {
    for (const body of [{ name: 'x', role: 'root' }, { name: '', role: 'viewer' }, { name: 'x', role: 'viewer', expiresInDays: 0 }, { name: 'x', role: 'viewer', extra: 1 }]) {
      const r = await json(api, 'POST', '/api/tokens', SHARED, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('invalid');
    }
  });

  it('writes lastUsedAt at most once a minute per token', async () => {
    const created = await json(api, 'POST', '/api/tokens', SHARED, { name: 'busy', role: 'viewer' });
    const token = created.json.token as string;
    const store = createStore(api.db).tokens;
    for (let i = 0; i < 20; i++) expect((await json(api, 'GET', '/api/links', token)).status).toBe(200);
    const first = (await store.get(created.json.id))!.lastUsedAt;
    expect(first).not.toBeNull();
    for (let i = 0; i < 5; i++) await json(api, 'GET', '/api/links', token);
    const second = (await store.get(created.json.id))!.lastUsedAt;
    expect(second?.getTime()).toBe(first?.getTime());
  });
});

describe('a loopback controller without API_TOKEN', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.close());

  it('is open until a token exists, then asks for one; revoking every token opens it again', async () => {
    expect((await json(api, 'GET', '/api/whoami', undefined)).json).toEqual({ role: 'admin', actor: 'anonymous', via: 'open' });
    const created = await json(api, 'POST', '/api/tokens', undefined, { name: 'first admin', role: 'admin' });
    expect(created.status).toBe(201);
    expect(created.json.createdBy).toBe('anonymous');
    expect((await json(api, 'GET', '/api/gateways', undefined)).status).toBe(401);
    expect((await rawRequest(api.port, { path: '/metrics' })).status).toBe(401);
    expect((await json(api, 'GET', '/api/gateways', created.json.token as string)).status).toBe(200);
    expect((await json(api, 'DELETE', `/api/tokens/${created.json.id}`, created.json.token as string)).status).toBe(204);
    expect((await json(api, 'GET', '/api/gateways', undefined)).status).toBe(200);
  });
});
