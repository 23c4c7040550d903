// Sites nobody can dial, for real: one that reaches the controller only through an HTTP proxy
// (tinyproxy; its direct path to the controller dropped), one behind a masquerading NAT that lets
// nothing in. Each initiates towards sites that can be reached (a public on-prem site and an
// emulated Alibaba Cloud site) and traffic passes both ways; the masqueraded site's NAT changes
// its address and traffic comes back without an API call; two such sites are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxySupport } from '../helpers/netns';
import { temporalCliAvailable } from '../helpers/temporal';
import { startStack, type Stack } from '../helpers/stack';
import { ALIYUN_AK, ALIYUN_SECRET } from '../helpers/clouds';
import type { CloudAccountBody, ErrorResponseBody, GatewayBody, LinkBody, LinkListBody, LinkWithEventsBody } from '../helpers/api-harness';
import { AliyunFake, addGatewaySite, type GatewaySite } from '../fakes/aliyun';

const net = await proxySupport();
const cli = temporalCliAvailable();
const reason = !net.ok ? net.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`reachability e2e test skipped: ${reason}`);

const CLOUD_IP = '203.0.113.71';

describe.runIf(!reason)('sites behind an HTTP proxy or a masquerading NAT (real charon, tinyproxy, nftables)', () => {
  let stack: Stack;
  let aliyun: AliyunFake;
  let cloudSite: GatewaySite;

  beforeAll(async () => {
    aliyun = await AliyunFake.start({ accessKeys: { [ALIYUN_AK]: ALIYUN_SECRET }, asyncDelayMs: 50 });
    cloudSite = addGatewaySite(aliyun, 74, { eip: CLOUD_IP });
    let account = '';
    stack = await startStack({
      id: 'rch',
      proxy: { publicIp: '198.51.100.79' },
      sites: [
        { name: 'pub', publicIp: '198.51.100.71', lanCidr: '10.171.0.0/24' },
        { name: 'prox', publicIp: '198.51.100.72', lanCidr: '10.172.0.0/24', onlyThroughProxy: true },
        { name: 'nat1', publicIp: '198.51.100.73', lanCidr: '10.173.0.0/24', nat: 'masquerade' },
        { name: 'nat2', publicIp: '198.51.100.75', lanCidr: '10.175.0.0/24', nat: 'masquerade' },
        { name: 'cloud', publicIp: CLOUD_IP, lanCidr: '10.74.1.0/24', behindNat: true },
      ],
      beforeRegister: async (ctl) => {
        const r = await ctl.api<CloudAccountBody>('POST', '/api/cloud-accounts', {
          name: 'rch',
          provider: 'aliyun',
          credentials: { accessKeyId: ALIYUN_AK, accessKeySecret: ALIYUN_SECRET },
          endpoints: { vpc: aliyun.url, ecs: aliyun.url },
        });
        if (r.status !== 201) throw new Error(`account: ${r.status}`);
        account = r.body.id;
      },
      register: (site) =>
        site.name === 'cloud'
          ? { name: 'rch-vpc', provider: 'aliyun', region: 'cn-hangzhou', publicIp: CLOUD_IP, account }
          : // The operator says what only they know: nothing gets through these NATs from outside.
            { name: `rch-${site.name}`, provider: 'onprem', cidrs: [site.lanCidr], ...(site.nat === 'masquerade' ? { inbound: false } : {}) },
    });
    await Promise.all(['pub', 'prox', 'nat1', 'nat2', 'cloud'].map((s) => stack.startAgent(s)));
    await Promise.all(['pub', 'prox', 'nat1', 'cloud'].map((s) => stack.fixture.tcpServer(s, 7000)));
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    await aliyun?.stop();
  });

  const api = <T>(method: string, path: string, body?: unknown) => stack.controller.api<T>(method, path, body);
  const id = (site: string) => stack.gateways.get(site)!.id;
  const host = (site: string) => stack.fixture.site(site).hostIp;
  const linkOf = async (linkId: string) => (await api<LinkWithEventsBody>('GET', `/api/links/${linkId}`)).body;

  async function linkUp(a: string, b: string, body: Record<string, unknown> = {}): Promise<LinkWithEventsBody> {
    const r = await api<LinkBody>('POST', '/api/links', { a: id(a), b: id(b), ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    await expect
      .poll(async () => (await linkOf(r.body.id)).state, { timeout: 40_000 })
      .toBe('up')
      .catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\nlink: ${JSON.stringify(await linkOf(r.body.id), null, 1)}\n${a} charon:\n${stack.fixture.charonLog(a)}\n${b} charon:\n${stack.fixture.charonLog(b)}`);
      });
    return linkOf(r.body.id);
  }

  it('a site behind the proxy is never taken for the proxy: no address, source unknown', async () => {
    const prox = (await api<GatewayBody>('GET', `/api/gateways/${id('prox')}`)).body;
    // The hub saw the proxy, and knows it was the proxy.
    expect(prox.observedIp).toBe('198.51.100.79');
    expect(prox.reachability).toMatchObject({ address: null, source: 'unknown', via: 'proxy', proxy: '198.51.100.79:3128' });
    const pub = (await api<GatewayBody>('GET', `/api/gateways/${id('pub')}`)).body;
    expect(pub.reachability).toMatchObject({ address: '198.51.100.71', source: 'observed', inbound: 'yes', via: 'direct' });
    const nat = (await api<GatewayBody>('GET', `/api/gateways/${id('nat1')}`)).body;
    expect(nat.reachability).toMatchObject({ address: '198.51.100.73', source: 'observed', inbound: 'no', behindNat: true });
  });

  it('the proxy site initiates to a public site (it is side b): TCP passes both ways', async () => {
    const link = await linkUp('pub', 'prox');
    expect(link.events.find((e) => e.type === 'link.up')!.message).toMatch(/rch-prox initiates: rch-prox reaches the controller through a proxy/);
    await stack.fixture.waitForTcp('pub', host('prox'), 7000, { timeoutMs: 20_000, intervalMs: 50 });
    await stack.fixture.waitForTcp('prox', host('pub'), 7000, { timeoutMs: 20_000, intervalMs: 50 });
  });

  it('the proxy site initiates to a cloud site, whose security group lets IKE in from anywhere', async () => {
    const link = await linkUp('cloud', 'prox', { cidrs: { a: ['10.74.0.0/16'] } });
    expect(link.events.find((e) => e.type === 'link.up')!.message).toMatch(/rch-prox initiates/);
    await stack.fixture.waitForTcp('prox', host('cloud'), 7000, { timeoutMs: 20_000, intervalMs: 50 });
    await stack.fixture.waitForTcp('cloud', host('prox'), 7000, { timeoutMs: 20_000, intervalMs: 50 });
    const sg = aliyun.securityGroupRules(cloudSite.securityGroupId);
    expect(sg.filter((r) => r.sourceCidrIp === '0.0.0.0/0').map((r) => r.portRange).sort()).toEqual(['4500/4500', '500/500']);
  });

  it('the masqueraded site initiates (side a here too); when its NAT changes address, traffic comes back with no API call', async () => {
    const link = await linkUp('nat1', 'pub');
    expect(link.events.find((e) => e.type === 'link.up')!.message).toMatch(/rch-nat1 initiates: rch-nat1 accepts no inbound connections/);
    await stack.fixture.waitForTcp('pub', host('nat1'), 7000, { timeoutMs: 20_000, intervalMs: 50 });
    await stack.fixture.waitForTcp('nat1', host('pub'), 7000, { timeoutMs: 20_000, intervalMs: 50 });

    const t0 = Date.now();
    await stack.fixture.changePublicIp('nat1', '198.51.100.74');
    await stack.fixture.waitForTcp('pub', host('nat1'), 7000, { timeoutMs: 30_000, intervalMs: 50 });
    console.log(`[reachability] masquerading NAT moved to a new address: traffic back after ${Date.now() - t0} ms`);
    await expect.poll(async () => (await api<GatewayBody>('GET', `/api/gateways/${id('nat1')}`)).body.reachability.address, { timeout: 10_000 }).toBe('198.51.100.74');
    await expect.poll(async () => (await linkOf(link.id)).state, { timeout: 20_000 }).toBe('up');
  });

  it('two sites nobody can reach are refused with what to set, and nothing is stored', async () => {
    const before = (await api<LinkListBody>('GET', '/api/links?includeDeleted=true')).body.links.length;
    for (const [a, b] of [['nat1', 'nat2'], ['prox', 'nat2']] as const) {
      const r = await api<ErrorResponseBody>('POST', '/api/links', { a: id(a), b: id(b) });
      expect(r.status).toBe(409);
      expect(r.body.error.message).toMatch(/neither end can be reached.*publicIp/);
    }
    expect((await api<LinkListBody>('GET', '/api/links?includeDeleted=true')).body.links.length).toBe(before);
  });
});
