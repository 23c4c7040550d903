// REST API contract: validation, status codes, and that refused requests store nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { missing, withStack } from '../helpers/with-stack';
import type { EnrolmentTokenBody, ErrorResponseBody, GatewayBody, GatewayListBody, LinkBody, LinkListBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';

const needs = { controller: true, name: 'api' } as const;

describe.skipIf(missing(needs, 'API tests'))('REST API', () => {
  const s = withStack(needs);
  let a: RegisteredGatewayBody;
  let b: RegisteredGatewayBody;
  let c: RegisteredGatewayBody;

  beforeAll(async () => {
    a = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'a', provider: 'onprem', cidrs: ['10.1.0.0/24'] })).body;
    b = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'b', provider: 'onprem', cidrs: ['10.2.0.0/24', '10.20.0.0/16'] })).body;
    c = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'c', provider: 'onprem', cidrs: ['10.1.0.128/25'] })).body;
  });

  const counts = async () => ({ links: await s.ctl.db.link.count(), events: await s.ctl.db.linkEvent.count(), gateways: await s.ctl.db.gateway.count() });

  describe('gateways', () => {
    it('registers a gateway and returns a one-time secret stored only as a hash', async () => {
      const r = await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-1', provider: 'onprem', cidrs: ['192.168.10.0/24'] });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ name: 'dc-1', provider: 'onprem', cidrs: ['192.168.10.0/24'], online: false });
      expect(r.body.agentSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const row = await s.ctl.db.gateway.findUniqueOrThrow({ where: { id: r.body.id } });
      expect(JSON.stringify(row)).not.toContain(r.body.agentSecret);
      const got = await s.api<GatewayBody>('GET', `/api/gateways/${r.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body).not.toHaveProperty('agentSecret');
      const list = await s.api<GatewayListBody>('GET', '/api/gateways');
      expect(list.body.gateways.map((g) => g.id)).toContain(r.body.id);
    });

    it.each([
      [{}, ['name', 'provider']],
      [{ name: 'x', provider: 'onprem' }, ['cidrs']],
      [{ name: 'x', provider: 'gcp', cidrs: ['10.0.0.0/8'] }, ['provider']],
      [{ name: 'x', provider: 'onprem', cidrs: ['10.0.0.1/8'] }, ['cidrs']],
      [{ name: 'x', provider: 'onprem', cidrs: [] }, ['cidrs']],
      [{ name: 'x', provider: 'onprem', cidrs: ['10.0.0.0/8', '10.1.0.0/16'] }, ['cidrs']],
      [{ name: '', provider: 'onprem', cidrs: ['10.0.0.0/8'] }, ['name']],
      [{ name: 'x', provider: 'onprem', cidrs: ['10.0.0.0/8'], publicIp: 'nope' }, ['publicIp']],
    ])('refuses %j with 400 naming the fields', async (body, fields) => {
      const before = await counts();
      const r = await s.api<ErrorResponseBody>('POST', '/api/gateways', body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid');
      for (const f of fields) expect(r.body.error.message).toContain(f);
      expect(await counts()).toEqual(before);
    });

    it('refuses malformed JSON and duplicate names', async () => {
      const bad = await s.api<ErrorResponseBody>('POST', '/api/gateways', '{"name":');
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('not valid JSON');
      const dup = await s.api<ErrorResponseBody>('POST', '/api/gateways', { name: 'a', provider: 'onprem', cidrs: ['10.9.0.0/24'] });
      expect(dup.status).toBe(409);
      expect(dup.body.error.message).toContain('already exists');
    });

    it('answers 404 for unknown ids and routes', async () => {
      expect((await s.api<ErrorResponseBody>('GET', '/api/gateways/gwnope')).status).toBe(404);
      expect((await s.api<ErrorResponseBody>('GET', '/api/nothing')).status).toBe(404);
    });
  });

  describe('links', () => {
    it.each([
      [{}, ['a', 'b']],
      [{ a: 1, b: 'x' }, ['a']],
      [{ a: 'x', b: 'y', extra: true }, ['extra']],
      [{ a: 'x', b: 'y', cidrs: { a: 'nope' } }, ['cidrs.a']],
    ])('refuses %j with 400', async (body, fields) => {
      const before = await counts();
      const r = await s.api<ErrorResponseBody>('POST', '/api/links', body);
      expect(r.status).toBe(400);
      for (const f of fields) expect(r.body.error.message).toContain(f);
      expect(await counts()).toEqual(before);
    });

    it('refuses unknown gateways (404), self links and overlapping ends (409), storing nothing', async () => {
      const before = await counts();
      expect((await s.api<ErrorResponseBody>('POST', '/api/links', { a: a.id, b: 'gwmissing' })).status).toBe(404);
      const self = await s.api<ErrorResponseBody>('POST', '/api/links', { a: a.id, b: a.id });
      expect(self.status).toBe(409);
      expect(self.body.error.message).toContain('itself');
      const overlap = await s.api<ErrorResponseBody>('POST', '/api/links', { a: a.id, b: c.id });
      expect(overlap.status).toBe(409);
      expect(overlap.body.error.message).toContain('10.1.0.0/24');
      expect(overlap.body.error.message).toContain('10.1.0.128/25');
      const outside = await s.api<ErrorResponseBody>('POST', '/api/links', { a: a.id, b: b.id, cidrs: { b: ['10.3.0.0/24'] } });
      expect(outside.status).toBe(409);
      expect(outside.body.error.message).toContain('not inside the networks of b');
      expect(await counts()).toEqual(before);
    });

    it('accepts a link (202) and refuses a duplicate and a clashing route (409)', async () => {
      const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id, cidrs: { b: ['10.2.0.0/24'] } });
      expect(r.status).toBe(202);
      expect(r.body.state).toBe('provisioning');
      const before = await counts();
      const dup = await s.api<ErrorResponseBody>('POST', '/api/links', { b: a.id, a: b.id });
      expect(dup.status).toBe(409);
      expect(dup.body.error.message).toContain(`already linked by ${r.body.id}`);
      // d's network overlaps what a already reaches through the first link.
      const d = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'd', provider: 'onprem', cidrs: ['10.2.0.0/25'] })).body;
      const clash = await s.api<ErrorResponseBody>('POST', '/api/links', { a: a.id, b: d.id });
      expect(clash.status).toBe(409);
      expect(clash.body.error.message).toContain(r.body.id);
      expect(await s.ctl.db.link.count()).toBe(before.links);
      const got = await s.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.events.length).toBeGreaterThan(0);
      const list = await s.api<LinkListBody>('GET', '/api/links');
      expect(list.body.links.map((l) => l.id)).toContain(r.body.id);
      expect((await s.api('GET', '/api/links/lnmissing')).status).toBe(404);
      expect((await s.api('DELETE', '/api/links/lnmissing')).status).toBe(404);
    });

    it('rotates a settled link\'s key through its workflow (202) and refuses one still provisioning (409)', async () => {
      const e = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'e', provider: 'onprem', cidrs: ['10.5.0.0/24'] })).body;
      const f = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'f', provider: 'onprem', cidrs: ['10.6.0.0/24'] })).body;
      const created = await s.api<LinkBody>('POST', '/api/links', { a: e.id, b: f.id });
      expect(created.status).toBe(202);
      expect(created.body.keyVersion).toBe(1);
      const before = await s.ctl.db.link.findUniqueOrThrow({ where: { id: created.body.id } });
      const early = await s.api<ErrorResponseBody>('POST', `/api/links/${created.body.id}/rotate-key`);
      expect(early.status).toBe(409);
      expect(early.body.error.message).toContain('still being provisioned');
      expect((await s.ctl.db.link.findUniqueOrThrow({ where: { id: created.body.id } })).pskCiphertext).toBe(before.pskCiphertext);
      // As if the tunnel came up: the signal goes to the real workflow over Temporal.
      await s.ctl.db.link.update({ where: { id: created.body.id }, data: { state: 'up' } });
      const rotated = await s.api<LinkBody>('POST', `/api/links/${created.body.id}/rotate-key`);
      expect(rotated.status).toBe(202);
      expect(rotated.body).toMatchObject({ state: 'updating', keyVersion: 2 });
      const after = await s.ctl.db.link.findUniqueOrThrow({ where: { id: created.body.id } });
      expect(after.pskCiphertext).not.toBe(before.pskCiphertext);
      expect(JSON.stringify(rotated.body)).not.toContain(after.pskCiphertext);
      expect((await s.api('POST', '/api/links/lnmissing/rotate-key')).status).toBe(404);
    });
  });

  describe('enrolment tokens', () => {
    it('issues a short-lived token for a known gateway (201), stored as its hash, and 404 otherwise', async () => {
      const r = await s.api<EnrolmentTokenBody>('POST', `/api/gateways/${a.id}/enrolment-token`, { ttlSeconds: 600 });
      expect(r.status).toBe(201);
      expect(r.body.gatewayId).toBe(a.id);
      expect(r.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.body.install).toContain(`ENROLMENT_TOKEN=${r.body.token}`);
      const rows = await s.ctl.db.enrolmentToken.findMany({ where: { gatewayId: a.id } });
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(r.body.token);
      expect((await s.api<ErrorResponseBody>('POST', '/api/gateways/gwmissing/enrolment-token')).status).toBe(404);
    });
  });

  describe('hostile input', () => {
    it('answers 400, 413 and 415 for what it cannot read, never 500, storing nothing', async () => {
      // Rows these requests could create (link events are left out: running workflows write them).
      const stored = async () => ({ gateways: await s.ctl.db.gateway.count(), links: await s.ctl.db.link.count(), tokens: await s.ctl.db.enrolmentToken.count() });
      const before = await stored();
      const zone = await s.api<ErrorResponseBody>('POST', '/api/gateways', { name: 'z', provider: 'onprem', cidrs: ['fe80::%eth0/64'] });
      expect(zone.status).toBe(400);
      expect(zone.body.error.message).toContain('cidrs');
      expect((await s.api<ErrorResponseBody>('GET', '/api/gateways/%E0%A4%A')).status).toBe(400);
      const big = await s.api<ErrorResponseBody>('POST', '/api/gateways', { name: 'big', provider: 'onprem', cidrs: ['10.99.0.0/24'], pad: 'x'.repeat(1024 * 1024) });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('too_large');
      const text = await fetch(`${s.ctl.url}/api/gateways`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 't', provider: 'onprem', cidrs: ['10.98.0.0/24'] }) });
      expect(text.status).toBe(415);
      expect(((await text.json()) as ErrorResponseBody).error.code).toBe('unsupported');
      expect(await stored()).toEqual(before);
    });
  });
});
