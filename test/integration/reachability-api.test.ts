// Reachability through the API: each gateway says where it can be reached from (address, source,
// inbound), the operator can state it when registering or later, links that no end could take are
// refused with what to set, and a change that would strand a live link is refused too. Nothing is
// stored on a refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestApi, type TestApi } from '../helpers/api-harness';

const json = (v: unknown) => JSON.stringify(v);
const headers = { 'content-type': 'application/json' };

describe('gateway reachability in the API', () => {
  let api: TestApi;
  const call = (method: string, path: string, body?: unknown) => rawRequest(api.port, { method, path, headers, ...(body === undefined ? {} : { body: json(body) }) });
  const gateway = async (body: Record<string, unknown>): Promise<string> => {
    const r = await call('POST', '/api/gateways', { provider: 'onprem', ...body });
    expect(r.status, r.text).toBe(201);
    return r.json.id;
  };
  /** What an agent's hello leaves in the row (the hub writes these). */
  const connected = (id: string, observedIp: string, facts: Record<string, unknown>) =>
    api.db.gateway.update({ where: { id }, data: { online: true, lastSeenAt: new Date(), observedIp, facts: json({ agentVersion: '0.1.0', ...facts }) } });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('shows where each gateway can be reached from, and why', async () => {
    const stated = await gateway({ name: 'stated', cidrs: ['10.1.0.0/24'], publicIp: '198.51.100.1', inbound: false });
    const proxied = await gateway({ name: 'proxied', cidrs: ['10.2.0.0/24'] });
    await connected(proxied, '198.51.100.250', { localAddrs: ['10.2.0.1'], connection: { via: 'proxy', proxy: '198.51.100.250:8888' } });
    const natted = await gateway({ name: 'natted', cidrs: ['10.3.0.0/24'] });
    await connected(natted, '203.0.113.3', { localAddrs: ['172.31.1.10'], connection: { via: 'direct' } });
    const fresh = await gateway({ name: 'fresh', cidrs: ['10.4.0.0/24'] });
    const view = async (id: string) => (await call('GET', `/api/gateways/${id}`)).json;
    expect(await view(stated)).toMatchObject({ endpoint: '198.51.100.1', reachability: { address: '198.51.100.1', source: 'operator', inbound: 'no' } });
    // The proxy's address is never taken for the site's.
    expect(await view(proxied)).toMatchObject({ endpoint: null, reachability: { address: null, source: 'unknown', inbound: 'unknown', via: 'proxy', proxy: '198.51.100.250:8888' } });
    expect(await view(natted)).toMatchObject({ endpoint: '203.0.113.3', reachability: { address: '203.0.113.3', source: 'observed', inbound: 'unknown', behindNat: true } });
    expect(await view(fresh)).toMatchObject({ endpoint: null, reachability: { address: null, source: 'unknown', inbound: 'unknown' } });
  });

  it('refuses a link no end could take, says what to set, and stores nothing', async () => {
    const nat = await gateway({ name: 'dc-nat', cidrs: ['10.11.0.0/24'], inbound: false });
    await connected(nat, '203.0.113.11', { localAddrs: ['172.31.2.10'], connection: { via: 'direct' } });
    const proxy = await gateway({ name: 'dc-proxy', cidrs: ['10.12.0.0/24'] });
    await connected(proxy, '198.51.100.250', { localAddrs: ['10.12.0.1'], connection: { via: 'proxy', proxy: '198.51.100.250:8888' } });
    const links = await api.db.link.count();
    const r = await call('POST', '/api/links', { a: nat, b: proxy });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/dc-nat and dc-proxy cannot be linked: neither end can be reached: dc-nat accepts no inbound connections \(inbound: false\), and dc-proxy reaches the controller through a proxy .*publicIp/);
    expect(await api.db.link.count()).toBe(links);
    expect(api.links.calls.filter((c) => c.op === 'start')).toHaveLength(0);
    // Either one with a public site is fine: the one nobody can reach dials it.
    const pub = await gateway({ name: 'dc-public', cidrs: ['10.13.0.0/24'], publicIp: '198.51.100.13' });
    expect((await call('POST', '/api/links', { a: nat, b: pub })).status).toBe(202);
    expect((await call('POST', '/api/links', { a: pub, b: proxy })).status).toBe(202);
  });

  it('lets the operator state reachability later, re-plans the live links, and refuses a change that strands one', async () => {
    const a = await gateway({ name: 'patch-a', cidrs: ['10.21.0.0/24'] });
    const b = await gateway({ name: 'patch-b', cidrs: ['10.22.0.0/24'] });
    await connected(b, '198.51.100.250', { localAddrs: ['10.22.0.1'], connection: { via: 'proxy', proxy: '198.51.100.250:8888' } });
    const link = await call('POST', '/api/links', { a, b });
    expect(link.status).toBe(202);
    await api.db.link.update({ where: { id: link.json.id }, data: { state: 'up' } });
    const before = api.links.calls.length;
    const ok = await call('PATCH', `/api/gateways/${a}`, { publicIp: '198.51.100.21' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ reachability: { address: '198.51.100.21', source: 'operator' } });
    // The link's workflow was told to re-plan.
    expect(api.links.calls.slice(before)).toEqual([{ op: 'reconfigure', args: [`link-${link.json.id}`, 'endpoint'] }]);
    // a behind a NAT that lets nothing in, b behind a proxy: the link would have no end to take it.
    const refused = await call('PATCH', `/api/gateways/${a}`, { inbound: false });
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toMatch(new RegExp(`link ${link.json.id} would have no end to connect to`));
    expect((await api.db.gateway.findUniqueOrThrow({ where: { id: a } })).inbound).toBeNull();
    // null clears a statement; unknown fields, bad addresses and an empty change are 400s.
    expect((await call('PATCH', `/api/gateways/${a}`, { publicIp: null })).json).toMatchObject({ reachability: { source: 'unknown' } });
    for (const body of [{}, { publicIp: 'not-an-ip' }, { inbound: 'no' }, { colour: 'x' }, { publicIp: 'fe80::1%eth0' }]) expect((await call('PATCH', `/api/gateways/${a}`, body)).status).toBe(400);
    expect((await call('PATCH', '/api/gateways/gwnope', { inbound: true })).status).toBe(404);
  });

  it('cloud gateways keep the address discovery confirmed', async () => {
    const account = await call('POST', '/api/cloud-accounts', { name: 'reach', provider: 'aws' });
    const g = await call('POST', '/api/gateways', { name: 'vpc-reach', provider: 'aws', region: 'us-east-1', publicIp: '198.51.100.99', account: account.json.id });
    expect(g.status).toBe(201);
    expect(g.json).toMatchObject({ reachability: { address: '198.51.100.99', source: 'cloud', inbound: 'yes' } });
    expect((await call('PATCH', `/api/gateways/${g.json.id}`, { publicIp: '198.51.100.98' })).status).toBe(409);
  });
});
