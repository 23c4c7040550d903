// Every /api operation × every kind of caller, with the status each must get. The operations come
// from the OpenAPI document (routes.test.ts proves it matches Express's routes), so a new route
// fails here until it has a row in roles.ts and an expected answer below.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../api/tokens';
import { ROUTE_ACCESS, ROLES, allows, type Role } from '../../api/roles';
import { apiOperations } from '../../api/openapi/operations';
import { createStore } from '../../store';
import { rawRequest, startTestApi, type TestApi } from '../helpers/api-harness';

const SHARED = 'the-shared-api-token-0123456789';
const DAY_MS = 86_400_000;

/**
 * What an allowed caller gets from each operation, called with an unknown id and an empty body:
 * nothing is changed, and the answer shows the request got past authentication and the role check.
 */
const ALLOWED_STATUS: Record<string, number> = {
  'POST /api/gateways': 400,
  'GET /api/gateways': 200,
  'GET /api/gateways/:id': 404,
  'PATCH /api/gateways/:id': 400,
  'DELETE /api/gateways/:id': 404,
  'POST /api/gateways/:id/secret': 404,
  'POST /api/gateways/:id/enrolment-token': 404,
  'POST /api/links': 400,
  'GET /api/links': 200,
  'GET /api/links/:id': 404,
  'GET /api/links/:id/teardown': 404,
  'POST /api/links/:id/plan': 400,
  'PATCH /api/links/:id': 400,
  'POST /api/links/:id/rotate-key': 404,
  'DELETE /api/links/:id': 404,
  'POST /api/cloud-accounts': 400,
  'GET /api/cloud-accounts': 200,
  'GET /api/cloud-accounts/:id': 404,
  'DELETE /api/cloud-accounts/:id': 404,
  // This test's API has no change feed.
  'GET /api/events': 503,
  'POST /api/tokens': 400,
  'GET /api/tokens': 200,
  'DELETE /api/tokens/:id': 404,
  'GET /api/whoami': 200,
  'GET /api/audit': 200,
};

type Caller = Role | 'API_TOKEN' | 'no token' | 'revoked' | 'expired';
const CALLERS: Caller[] = [...ROLES, 'API_TOKEN', 'no token', 'revoked', 'expired'];

const operations = apiOperations.filter((op) => !op.public).map((op) => ({ key: `${op.method.toUpperCase()} ${op.path}`, method: op.method.toUpperCase(), path: op.path.replace(/:[A-Za-z]+/g, 'zz-unknown'), body: !!op.body }));

function expected(caller: Caller, key: string): number {
  if (caller === 'no token' || caller === 'revoked' || caller === 'expired') return 401;
  const role: Role = caller === 'API_TOKEN' ? 'admin' : caller;
  return allows(role, ROUTE_ACCESS[key]!) ? ALLOWED_STATUS[key]! : 403;
}

let api: TestApi;
const tokens: Partial<Record<Caller, string>> = { API_TOKEN: SHARED };

beforeAll(async () => {
  api = await startTestApi({ apiToken: SHARED });
  const store = createStore(api.db).tokens;
  for (const role of ROLES) tokens[role] = (await issueToken(store, { name: `${role}-token`, role, createdBy: 'test' }, new Date())).token;
  const revoked = await issueToken(store, { name: 'revoked', role: 'admin', createdBy: 'test' }, new Date());
  await store.revoke(revoked.record.id, new Date());
  tokens.revoked = revoked.token;
  tokens.expired = (await issueToken(store, { name: 'expired', role: 'admin', expiresInDays: 1, createdBy: 'test' }, new Date(Date.now() - 2 * DAY_MS))).token;
});
afterAll(async () => api?.close());

const call = (op: (typeof operations)[number], caller: Caller) =>
  rawRequest(api.port, {
    method: op.method,
    path: op.path,
    headers: { ...(tokens[caller] ? { authorization: `Bearer ${tokens[caller]}` } : {}), ...(op.body ? { 'content-type': 'application/json' } : {}) },
    ...(op.body ? { body: '{}' } : {}),
  });

describe('every /api operation × every caller', () => {
  it('every authenticated operation has a role in roles.ts and an expected answer here, and nothing stale', () => {
    const keys = operations.map((op) => op.key).sort();
    expect(Object.keys(ROUTE_ACCESS).sort()).toEqual(keys);
    expect(Object.keys(ALLOWED_STATUS).sort()).toEqual(keys);
  });

  it.each(CALLERS)('%s gets the expected status from every operation', async (caller) => {
    const got: Record<string, number> = {};
    const want: Record<string, number> = {};
    for (const op of operations) {
      const r = await call(op, caller);
      got[op.key] = r.status;
      want[op.key] = expected(caller, op.key);
      if (r.status === 401) expect(r.json.error.code).toBe('unauthorized');
      if (r.status === 403) {
        expect(r.json.error.code).toBe('forbidden');
        expect(r.json.error.message).toMatch(/needs role (admin|operator|auditor)/);
      }
    }
    expect(got).toEqual(want);
  });

  it('says why a token is refused: revoked, expired, missing', async () => {
    const op = operations.find((o) => o.key === 'GET /api/gateways')!;
    expect((await call(op, 'revoked')).json.error.message).toMatch(/revoked/);
    expect((await call(op, 'expired')).json.error.message).toMatch(/expired/);
    expect((await call(op, 'no token')).json.error.message).toMatch(/missing/);
  });

  it('names the roles a 403 needs, in its message and details', async () => {
    const r = await rawRequest(api.port, { method: 'POST', path: '/api/gateways', headers: { authorization: `Bearer ${tokens.viewer}`, 'content-type': 'application/json' }, body: '{}' });
    expect(r.json.error).toEqual({ code: 'forbidden', message: 'role viewer may not POST /api/gateways: it needs role admin or operator', details: { role: 'viewer', allowedRoles: ['admin', 'operator'] } });
  });

  it('/metrics takes any valid token and refuses the rest', async () => {
    for (const caller of CALLERS) {
      const r = await rawRequest(api.port, { path: '/metrics', headers: tokens[caller] ? { authorization: `Bearer ${tokens[caller]}` } : {} });
      // This test's app registers no metrics: an authenticated caller gets the route's 404.
      expect(r.status, caller).toBe(['no token', 'revoked', 'expired'].includes(caller) ? 401 : 404);
    }
  });
});
