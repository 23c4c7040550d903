// The OpenAPI document covers exactly the routes Express has under /api: a route added without its
// operation, or an operation left behind by a removed route, fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { createApi } from '../../api/app';
import { buildOpenApiDocument } from '../../api/openapi/document';
import { apiOperations } from '../../api/openapi/operations';
import { openApiPath } from '../../api/openapi/operation';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import { silentLogger } from '../../lib/log';
import { fakeLinks } from '../helpers/api-harness';
import { createSqliteTestDb, type TestDb } from '../helpers/db';
import { expressRoutes } from './express-routes';

let testDb: TestDb;
const apps: Record<string, express.Express> = {};

beforeAll(async () => {
  testDb = await createSqliteTestDb();
  const base = {
    db: testDb.db,
    log: silentLogger,
    links: fakeLinks(),
    secretKey: parseSecretKey(newSecretKey()),
    view: () => ({ now: new Date(), presenceTtlMs: 45_000, temporalNamespace: 'default' }),
    cloudEndpointAllow: [],
  };
  apps.open = createApi(base);
  apps.token = createApi({ ...base, apiToken: 'contract-test-token' });
});
afterAll(async () => testDb?.cleanup());

const sorted = (list: Iterable<string>): string[] => [...new Set(list)].sort();
const underApi = (route: string): boolean => /^[A-Z]+ \/api(\/|$)/.test(route);
const documented = (): string[] => sorted(apiOperations.map((op) => `${op.method.toUpperCase()} ${op.path}`));

describe('the API contract covers every route', () => {
  it.each(['open', 'token'])('Express routes under /api are the documented operations (%s)', (which) => {
    const routes = sorted(expressRoutes(apps[which]!).filter(underApi));
    const missing = routes.filter((route) => !documented().includes(route));
    const stale = documented().filter((route) => !routes.includes(route));
    expect({ inExpressNotInDocument: missing, inDocumentNotInExpress: stale }).toEqual({ inExpressNotInDocument: [], inDocumentNotInExpress: [] });
    expect(routes.length).toBeGreaterThan(10);
  });

  it('the generated document has every operation, with its path parameters and a bearer scheme', () => {
    const doc = buildOpenApiDocument();
    expect(doc.openapi).toBe('3.1.0');
    const inDoc = sorted(Object.entries(doc.paths ?? {}).flatMap(([path, item]) => Object.keys(item).filter((key) => ['get', 'post', 'patch', 'put', 'delete'].includes(key)).map((method) => `${method.toUpperCase()} ${path}`)));
    expect(inDoc).toEqual(sorted(apiOperations.map((op) => `${op.method.toUpperCase()} ${openApiPath(op.path)}`)));
    expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item as Record<string, { parameters?: Array<{ in: string; name: string }>; responses: Record<string, unknown> }>)) {
        expect(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [], `${method} ${path}`).toEqual(names);
        // Every operation states its errors too, in the one error shape.
        expect(Object.keys(op.responses), `${method} ${path}`).toContain('500');
      }
    }
  });

  it('the route walk follows mounted routers, their paths and every method of a route', () => {
    const app = express();
    const inner = express.Router();
    inner.get('/:id', (_req, res) => res.end());
    inner.route('/:id/x').post((_req, res) => res.end()).delete((_req, res) => res.end());
    const outer = express.Router();
    outer.use('/things', inner);
    app.use('/api', outer);
    app.get('/api/top', (_req, res) => res.end());
    expect(sorted(expressRoutes(app))).toEqual(['DELETE /api/things/:id/x', 'GET /api/things/:id', 'GET /api/top', 'POST /api/things/:id/x']);
  });
});
