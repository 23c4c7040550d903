// The console's API types (web/src/api/schema.d.ts) are generated from the OpenAPI document: the
// committed file must be what `npm run api:types` writes now, and what it says must be what the
// zod schemas say (checked by the type checker: a mismatch fails `tsc`).
import { readFileSync } from 'node:fs';
import createClient from 'openapi-fetch';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { API_TYPES_FILE, apiTypes } from '../../scripts/api-types';
import { startTestApi } from '../helpers/api-harness';
import type { components, paths } from '../../web/src/api/schema';
import type { CloudAccount } from '../../api/schemas/cloud-accounts';
import type { ApiError } from '../../api/schemas/common';
import type { Gateway } from '../../api/schemas/gateways';
import type { ChangePreview, Link, LinkWithEvents } from '../../api/schemas/links';

type Schemas = components['schemas'];
type JsonOf<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer B } }> } ? B : never;

describe('the generated API types', () => {
  it('are up to date with the document (else: npm run api:types, and commit web/src/api/schema.d.ts)', async () => {
    const committed = readFileSync(API_TYPES_FILE, 'utf8');
    const current = await apiTypes();
    expect(committed === current, 'web/src/api/schema.d.ts is stale: run `npm run api:types` and commit it').toBe(true);
  });

  it('say what the zod schemas say', () => {
    expectTypeOf<Schemas['Link']>().toEqualTypeOf<z.infer<typeof Link>>();
    expectTypeOf<Schemas['LinkWithEvents']>().toEqualTypeOf<z.infer<typeof LinkWithEvents>>();
    expectTypeOf<Schemas['ChangePreview']>().toEqualTypeOf<z.infer<typeof ChangePreview>>();
    expectTypeOf<Schemas['CloudAccount']>().toEqualTypeOf<z.infer<typeof CloudAccount>>();
    expectTypeOf<Schemas['Gateway']['reachability']>().toEqualTypeOf<z.infer<typeof Gateway>['reachability']>();
    expectTypeOf<Schemas['Error']['error']['code']>().toEqualTypeOf<ApiError['error']['code']>();
    expectTypeOf<JsonOf<'/api/links/{id}', 'get', 200>>().toEqualTypeOf<Schemas['LinkWithEvents']>();
    expectTypeOf<JsonOf<'/api/links', 'post', 404>>().toEqualTypeOf<Schemas['Error']>();
  });
});

it('type an openapi-fetch client that works against the real API', async () => {
  const api = await startTestApi({ apiToken: 'typed-client-token' });
  try {
    const client = createClient<paths>({ baseUrl: api.url, headers: { authorization: 'Bearer typed-client-token' } });
    const a = await client.POST('/api/gateways', { body: { name: 'site-a', provider: 'onprem', cidrs: ['10.1.0.0/16'] } });
    const b = await client.POST('/api/gateways', { body: { name: 'site-b', provider: 'onprem', cidrs: ['10.2.0.0/16'] } });
    expectTypeOf(a.data!).toExtend<Schemas['RegisteredGateway']>();
    expect(a.data?.agentSecret).toMatch(/\S{20,}/);
    const link = await client.POST('/api/links', { body: { a: a.data!.id, b: b.data!.id } });
    expect(link.response.status).toBe(202);
    expect(link.data?.state).toBe('provisioning');
    const read = await client.GET('/api/links/{id}', { params: { path: { id: link.data!.id } } });
    expect(read.data?.events.map((event) => event.type)).toEqual(['link.requested']);
    const refused = await client.POST('/api/links', { body: { a: a.data!.id, b: b.data!.id } });
    expect(refused.error?.error.code).toBe('conflict');
    const missing = await client.GET('/api/links/{id}', { params: { path: { id: 'lnnope' } } });
    expectTypeOf(missing.error!).toExtend<Schemas['Error']>();
    expect(missing.error?.error).toMatchObject({ code: 'not_found', details: { id: 'lnnope' } });
  } finally {
    await api.close();
  }
});
