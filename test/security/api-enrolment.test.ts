// Enrolment tokens over real HTTP: short-lived, shown once, stored only as a hash, never logged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../lib/crypto';
import { jsonRequest, logText, rawRequest, startTestApi, type ResponseBody, type TestApi } from '../helpers/api-harness';

interface Issued extends ResponseBody { gatewayId: string; token: string; expiresAt: string; install: string }

describe('POST /api/gateways/:id/enrolment-token', () => {
  let api: TestApi;
  let gatewayId: string;
  beforeAll(async () => {
    api = await startTestApi();
    gatewayId = ((await jsonRequest(api.port, 'POST', '/api/gateways', { name: 'site', provider: 'onprem', cidrs: ['10.1.0.0/24'] })).json as { id: string }).id;
  });
  afterAll(async () => {
    await api?.close();
  });

  const issue = (body?: unknown, id = gatewayId) => jsonRequest(api.port, 'POST', `/api/gateways/${id}/enrolment-token`, body);

  it('issues a one-hour token by default, shown once and stored as its hash', async () => {
    const t0 = Date.now();
    const r = await issue();
    expect(r.status).toBe(201);
    const body = r.json as Issued;
    expect(body.gatewayId).toBe(gatewayId);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(body.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(t0 + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect(body.install.split('\n')).toEqual(expect.arrayContaining([`GATEWAY_ID=${gatewayId}`, `ENROLMENT_TOKEN=${body.token}`]));
    expect(r.headers['cache-control']).toBe('no-store');

    const rows = await api.db.enrolmentToken.findMany({ where: { gatewayId } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toMatch(/^et[a-z2-7]{16}$/);
    expect(rows[0]!.tokenHash).toBe(hashSecret(body.token));
    expect(rows[0]!.usedAt).toBeNull();
    expect(rows[0]!.expiresAt.getTime()).toBe(expires);
    expect(JSON.stringify(rows)).not.toContain(body.token);
    expect(logText(api.logs)).not.toContain(body.token);
    // Not shown again.
    const got = await jsonRequest(api.port, 'GET', `/api/gateways/${gatewayId}`);
    expect(got.text).not.toContain(body.token);
  });

  it('takes ttlSeconds from 60 to 3600, with an empty body or none', async () => {
    const t0 = Date.now();
    const short = await issue({ ttlSeconds: 60 });
    expect(short.status).toBe(201);
    expect(Date.parse((short.json as Issued).expiresAt)).toBeLessThanOrEqual(Date.now() + 60_000 + 1000);
    expect(Date.parse((short.json as Issued).expiresAt)).toBeGreaterThanOrEqual(t0 + 60_000 - 1000);
    expect((await issue({})).status).toBe(201);
    // curl -X POST sends no body; fetch sends "content-length: 0" and no type.
    expect((await rawRequest(api.port, { method: 'POST', path: `/api/gateways/${gatewayId}/enrolment-token` })).status).toBe(201);
    expect((await rawRequest(api.port, { method: 'POST', path: `/api/gateways/${gatewayId}/enrolment-token`, headers: { 'content-length': '0' } })).status).toBe(201);
  });

  it('a new token replaces the gateway\'s earlier unused ones', async () => {
    const first = (await issue()).json as Issued;
    const second = (await issue()).json as Issued;
    expect(second.token).not.toBe(first.token);
    const hashes = (await api.db.enrolmentToken.findMany({ where: { gatewayId } })).map((t) => t.tokenHash);
    expect(hashes).toEqual([hashSecret(second.token)]);
  });

  it.each([[{ ttlSeconds: 59 }], [{ ttlSeconds: 3601 }], [{ ttlSeconds: 90.5 }], [{ ttlSeconds: '600' }], [{ ttlSeconds: -1 }], [{ ttlSeconds: 60, gatewayId: 'gwother' }]])(
    'refuses %j with 400, storing nothing',
    async (body) => {
      const before = await api.db.enrolmentToken.findMany();
      const r = await issue(body);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid');
      expect(r.json.error.message).toMatch(/ttlSeconds|gatewayId/);
      expect(await api.db.enrolmentToken.findMany()).toEqual(before);
    },
  );

  it('answers 404 for an unknown gateway, storing nothing', async () => {
    const before = await api.db.enrolmentToken.count();
    const r = await issue(undefined, 'gwnosuchgateway00');
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('not_found');
    expect(await api.db.enrolmentToken.count()).toBe(before);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const r = await rawRequest(api.port, { method: 'POST', path: `/api/gateways/${gatewayId}/enrolment-token`, headers: { 'content-type': 'text/plain' }, body: 'ttlSeconds=60' });
    expect(r.status).toBe(415);
  });
});

describe('enrolment tokens behind the API token', () => {
  it('need the operator token like every other call', async () => {
    const api = await startTestApi({ apiToken: 'operator-token-0123456789' });
    try {
      const g = await jsonRequest(api.port, 'POST', '/api/gateways', { name: 's', provider: 'onprem', cidrs: ['10.1.0.0/24'] }, { authorization: 'Bearer operator-token-0123456789' });
      const r = await jsonRequest(api.port, 'POST', `/api/gateways/${(g.json as { id: string }).id}/enrolment-token`);
      expect(r.status).toBe(401);
      expect(await api.db.enrolmentToken.count()).toBe(0);
    } finally {
      await api.close();
    }
  });
});
