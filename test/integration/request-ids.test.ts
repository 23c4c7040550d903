// One request id finds one operation everywhere: the API answers with it, the link's workflow
// keeps it in its memo, and the changes the controller made in a cloud on the call's behalf are
// audit records carrying it (real Temporal, the Alibaba fake, agents on FakeIpsecNetwork).
import { describe, expect, it } from 'vitest';
import { addGatewaySite } from '../fakes/aliyun';
import { missing, withStack } from '../helpers/with-stack';
import type { AuditListBody, GatewayBody, LinkBody, RegisteredGatewayBody } from '../helpers/api-harness';

const needs = { controller: true, clouds: true, agents: true, name: 'request-ids' } as const;

describe.skipIf(missing(needs, 'request id tests'))('request ids through the API, workflows and audit trail', () => {
  const s = withStack(needs);

  async function call<T>(method: string, path: string, requestId?: string, body?: unknown): Promise<{ status: number; body: T; requestId: string | null }> {
    const res = await fetch(`${s.ctl.url}${path}`, {
      method,
      headers: { ...(requestId ? { 'x-request-id': requestId } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, requestId: res.headers.get('x-request-id') };
  }
  const memoOf = async (workflowId: string) => (await s.ctl.client.workflow.getHandle(workflowId).describe()).memo;
  const audit = async (requestId: string) => (await call<AuditListBody>('GET', `/api/audit?requestId=${encodeURIComponent(requestId)}`)).body.records;

  it('every answer carries a request id: the client\'s when it is plain, else a new one', async () => {
    const given = await call('GET', '/api/gateways', 'trace-7.a:b_c');
    expect(given.requestId).toBe('trace-7.a:b_c');
    const fresh = await call('GET', '/api/gateways', 'not plain!');
    expect(fresh.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call('GET', '/api/nowhere')).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a link\'s creation and deletion: memo, and audit records of the cloud changes each call caused', async () => {
    const site = addGatewaySite(s.clouds.aliyun, 61, { eip: '203.0.113.161' });
    const cloud = await s.gateway<RegisteredGatewayBody>('ali-req', { provider: 'aliyun', region: 'cn-hangzhou', publicIp: '203.0.113.161', account: s.accounts.aliyun });
    await expect.poll(async () => (await s.api<GatewayBody>('GET', `/api/gateways/${cloud.id}`)).body.state, { timeout: 20_000 }).toBe('ready');
    await s.agent(cloud, '203.0.113.161');
    const dc = await s.gateway<RegisteredGatewayBody>('dc-req', ['192.168.161.0/24']);
    await s.agent(dc, '198.51.100.161');

    const created = await call<LinkBody>('POST', '/api/links', 'req-create-1', { a: cloud.id, b: dc.id });
    expect(created.status).toBe(202);
    expect(created.requestId).toBe('req-create-1');
    const link = created.body;
    await expect.poll(async () => (await s.api<LinkBody>('GET', `/api/links/${link.id}`)).body.state, { timeout: 30_000 }).toBe('up');
    expect(await memoOf(link.workflowId)).toMatchObject({ requestId: 'req-create-1' });

    const made = await audit('req-create-1');
    expect(made.find((r) => r.action === 'POST /api/links')).toMatchObject({ target: link.id, status: 202 });
    const routes = made.find((r) => r.action === 'cloud.routes_added');
    expect(routes).toMatchObject({ actor: 'controller', source: 'link workflow', target: link.id, status: 200, requestId: 'req-create-1' });
    expect(routes!.body).toMatchObject({ routes: [{ routeTableId: site.systemTableId, destinationCidr: '192.168.161.0/24', instanceId: site.instanceId }] });
    expect(made.find((r) => r.action === 'cloud.rule_added')?.body).toMatchObject({ peerIp: '198.51.100.161' });
    // Exactly one record per change: the link's route and its rule, nothing recorded twice.
    expect(made.filter((r) => r.action.startsWith('cloud.')).map((r) => r.action).sort()).toEqual(['cloud.routes_added', 'cloud.rule_added']);

    const deleted = await call('DELETE', `/api/links/${link.id}`, 'req-delete-2');
    expect(deleted.status).toBe(202);
    await expect.poll(async () => (await s.api<LinkBody>('GET', `/api/links/${link.id}`)).body.state, { timeout: 30_000 }).toBe('deleted');
    const removed = (await audit('req-delete-2')).find((r) => r.action === 'cloud.removed');
    expect(removed).toMatchObject({ actor: 'controller', target: link.id, requestId: 'req-delete-2' });
    expect(removed!.body).toMatchObject({ routes: [{ destinationCidr: '192.168.161.0/24' }], revokedRules: [{ peerIp: '198.51.100.161' }] });
    expect(await memoOf(link.workflowId)).toMatchObject({ requestId: 'req-delete-2' });
    // The creation's records stay what they were: the trail is append-only.
    expect((await audit('req-create-1')).length).toBe(made.length);
  });
});
