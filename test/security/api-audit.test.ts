// The audit trail: every mutating /api operation leaves exactly one record, secrets never appear
// in it, and GET /api/audit filters and pages (admin and auditor only, nothing changes records).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOperations } from '../../api/openapi/operations';
import { issueToken } from '../../api/tokens';
import { pruneAudit } from '../../api/audit';
import { loadControllerConfig } from '../../controller/config';
import { createStore, type Store } from '../../store';
import { rawRequest, startTestApi, type RawResponse, type TestApi } from '../helpers/api-harness';

const SHARED = 'the-shared-api-token-0123456789';

let api: TestApi;
let store: Store;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  api = await startTestApi({ apiToken: SHARED });
  store = createStore(api.db);
  for (const role of ['viewer', 'auditor', 'operator'] as const) tokens[role] = (await issueToken(store.tokens, { name: `${role}-token`, role, createdBy: 'test' }, new Date())).token;
});
afterAll(async () => api?.close());

const send = (method: string, path: string, body?: unknown, token = SHARED, headers: Record<string, string> = {}) =>
  rawRequest(api.port, {
    method,
    path,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

const count = async () => (await store.audit.find({ limit: 100_000 })).length;
/** Records are written when the answer has gone out: wait for `n` more than `from`. */
const settle = async (from: number, n: number) => {
  await expect.poll(count, { timeout: 3000, interval: 20 }).toBe(from + n);
  // And no more than that.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await count()).toBe(from + n);
};

const mutating = apiOperations.filter((op) => op.method !== 'get');

describe('the audit trail', () => {
  it.each(mutating.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))('%s leaves exactly one record', async (key, op) => {
    const before = await count();
    const r = await send(op.method.toUpperCase(), op.path.replace(/:id/g, 'zz-unknown'), op.body ? {} : undefined);
    await settle(before, 1);
    const [record] = await store.audit.find({ limit: 1 });
    expect(record).toMatchObject({ action: key, actor: 'API_TOKEN', status: r.status, requestId: r.headers['x-request-id'], source: '127.0.0.1' });
    if (op.path.includes(':id')) expect(record!.target).toBe('zz-unknown');
  });

  it('records a call refused for its role, not one refused for no token, and no read', async () => {
    const before = await count();
    expect((await send('POST', '/api/gateways', {}, tokens.viewer)).status).toBe(403);
    expect((await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await send('GET', '/api/gateways')).status).toBe(200);
    await settle(before, 1);
    expect((await store.audit.find({ limit: 1 }))[0]).toMatchObject({ actor: 'viewer-token', status: 403, action: 'POST /api/gateways' });
  });

  it('keeps no secret: not the ones sent, not the ones issued', async () => {
    const secrets: string[] = ['AKIA-secret-key-id-0001', 'the-cloud-key-secret-000000001', 'sts-token-000000001'];
    const keep = (r: RawResponse, field: string) => {
      const value = r.json[field];
      expect(typeof value, `${field} in ${r.text}`).toBe('string');
      secrets.push(value as string);
    };
    const before = await count();
    const account = await send('POST', '/api/cloud-accounts', { name: 'audited', provider: 'aws', credentials: { accessKeyId: secrets[0], accessKeySecret: secrets[1], securityToken: secrets[2] } });
    expect(account.status).toBe(201);
    const gw = await send('POST', '/api/gateways', { name: 'audit-gw', provider: 'onprem', cidrs: ['10.77.0.0/24'] }, SHARED, { 'x-request-id': 'req-register-1' });
    expect(gw.status).toBe(201);
    expect(gw.headers['x-request-id']).toBe('req-register-1');
    keep(gw, 'agentSecret');
    const id = gw.json.id;
    const rotated = await send('POST', `/api/gateways/${id}/secret`);
    keep(rotated, 'agentSecret');
    const enrol = await send('POST', `/api/gateways/${id}/enrolment-token`, {});
    keep(enrol, 'token');
    const token = await send('POST', '/api/tokens', { name: 'audited token', role: 'viewer' });
    keep(token, 'token');
    await settle(before, 5);

    const rows = await store.audit.find({ limit: 5 });
    const listed = await send('GET', '/api/audit?limit=5', undefined, tokens.auditor);
    expect(listed.status).toBe(200);
    for (const text of [JSON.stringify(rows), listed.text]) for (const secret of secrets) expect(text).not.toContain(secret);
    const byAction = Object.fromEntries(rows.map((r) => [r.action, r]));
    expect(byAction['POST /api/cloud-accounts']!.body).toBe(JSON.stringify({ name: 'audited', provider: 'aws', credentials: '[redacted]' }));
    expect(byAction['POST /api/gateways']).toMatchObject({ target: id, secret: 'agent secret', requestId: 'req-register-1', status: 201 });
    expect(byAction['POST /api/gateways/:id/secret']).toMatchObject({ target: id, secret: 'agent secret' });
    expect(byAction['POST /api/gateways/:id/enrolment-token']).toMatchObject({ target: id, secret: 'enrolment token' });
    expect(byAction['POST /api/tokens']).toMatchObject({ target: token.json.id, secret: 'API token' });
  });

  it('filters by actor, action, target and time, and pages with a cursor', async () => {
    const all = (await send('GET', '/api/audit?limit=500')).json.records as Array<{ id: string; actor: string; action: string; target: string | null; at: string }>;
    expect(all.length).toBeGreaterThan(10);
    const byViewer = await send('GET', '/api/audit?actor=viewer-token');
    expect((byViewer.json.records as unknown[]).length).toBe(all.filter((r) => r.actor === 'viewer-token').length);
    const action = encodeURIComponent('DELETE /api/links/:id');
    const deletes = (await send('GET', `/api/audit?action=${action}`)).json.records as Array<{ action: string }>;
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes.every((r) => r.action === 'DELETE /api/links/:id')).toBe(true);
    expect(((await send('GET', '/api/audit?target=zz-unknown')).json.records as unknown[]).length).toBe(all.filter((r) => r.target === 'zz-unknown').length);
    expect(((await send('GET', `/api/audit?until=${encodeURIComponent(all.at(-1)!.at)}`)).json.records as unknown[]).length).toBe(0);
    expect(((await send('GET', `/api/audit?since=${encodeURIComponent(all.at(-1)!.at)}`)).json.records as unknown[]).length).toBe(all.length);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: RawResponse = await send('GET', `/api/audit?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(page.json.records as Array<{ id: string }>).map((r) => r.id));
      cursor = page.json.nextCursor as string | null;
    } while (cursor);
    expect(seen.slice(0, all.length)).toEqual(all.map((r) => r.id));
  });

  it('is for admins and auditors, refuses bad filters, and cannot be changed through the API', async () => {
    expect((await send('GET', '/api/audit', undefined, tokens.auditor)).status).toBe(200);
    expect((await send('GET', '/api/audit', undefined, tokens.viewer)).status).toBe(403);
    expect((await send('GET', '/api/audit', undefined, tokens.operator)).status).toBe(403);
    for (const query of ['limit=0', 'limit=501', 'since=yesterday', 'cursor=abc', 'colour=red']) {
      const r = await send('GET', `/api/audit?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json.error.code).toBe('invalid');
    }
    const before = (await store.audit.find({ limit: 100_000 })).length;
    expect((await send('DELETE', '/api/audit')).status).toBe(404);
    expect((await send('POST', '/api/audit', {})).status).toBe(404);
    expect((await send('DELETE', '/api/audit', undefined, tokens.auditor)).status).toBe(403);
    await settle(before, 3);
  });

  it('is pruned after the retention (AUDIT_RETENTION_DAYS, default 365)', async () => {
    const old = { at: new Date(Date.now() - 400 * 86_400_000), actor: 'API_TOKEN', tokenId: null, source: '127.0.0.1', action: 'POST /api/links', target: null, body: null, status: 202, requestId: 'old-one', secret: null };
    await store.audit.append(old);
    const before = await count();
    expect(await pruneAudit(store.audit, 365)).toBe(1);
    expect(await count()).toBe(before - 1);
    expect((await store.audit.find({ limit: 100_000 })).some((r) => r.requestId === 'old-one')).toBe(false);
    expect(loadControllerConfig({ SECRET_KEY: 'a'.repeat(64) }).AUDIT_RETENTION_DAYS).toBe(365);
    expect(loadControllerConfig({ SECRET_KEY: 'a'.repeat(64), AUDIT_RETENTION_DAYS: '30' }).AUDIT_RETENTION_DAYS).toBe(30);
    expect(() => loadControllerConfig({ SECRET_KEY: 'a'.repeat(64), AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
  });
});
