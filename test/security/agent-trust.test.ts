// Finding 1 of the security review: an agent (say, one whose secret was stolen) is trusted only
// about its own tunnels. It cannot move a VPC's routes to an instance of its choosing by reporting
// that instance and that instance's own public IP, and the address it reports never overrides the
// one the operator registered.
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { missing, withStack } from '../helpers/with-stack';
import { ALIYUN_AK, ALIYUN_SECRET } from '../helpers/clouds';
import type { CloudAccountBody, GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { AliyunFake, addGatewaySite } from '../fakes/aliyun';
import { FakeMetadataServer } from '../fakes/metadata';
import { createMetadataSource } from '../../agent/metadata';
import { silentLogger } from '../../lib/log';
import { followInstanceWorkflowId, type followInstanceWorkflow } from '../../workflows/discovery';

const needs = { controller: true, name: 'trust' } as const;

describe.skipIf(missing(needs, 'agent trust tests'))('what an agent reports cannot move routes or addresses', () => {
  const s = withStack(needs);
  let aliyun: AliyunFake;
  let account: string;
  const ipsec = new FakeIpsecNetwork();

  beforeAll(async () => {
    aliyun = s.track(await AliyunFake.start({ accessKeys: { [ALIYUN_AK]: ALIYUN_SECRET }, asyncDelayMs: 50 }));
    const r = await s.api<CloudAccountBody>('POST', '/api/cloud-accounts', {
      name: 'trust',
      provider: 'aliyun',
      credentials: { accessKeyId: ALIYUN_AK, accessKeySecret: ALIYUN_SECRET },
      endpoints: { vpc: aliyun.url, ecs: aliyun.url },
    });
    expect(r.status).toBe(201);
    account = r.body.id;
  });

  const get = async (id: string) => (await s.api<GatewayBody>('GET', `/api/gateways/${id}`)).body;
  const linkState = async (id: string) => (await s.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body.state;

  it('an agent naming another instance of its VPC, with that instance\'s own EIP, changes nothing', async () => {
    const site = addGatewaySite(aliyun, 41, { eip: '203.0.113.141' });
    const created = await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'vpc-trust', provider: 'aliyun', region: 'cn-hangzhou', publicIp: '203.0.113.141', account });
    expect(created.status).toBe(201);
    const gw = created.body;
    await expect.poll(async () => (await get(gw.id)).state, { timeout: 20_000 }).toBe('ready');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-trust', provider: 'onprem', cidrs: ['192.168.41.0/24'], publicIp: '198.51.100.141' })).body;
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: gw.id, secret: gw.agentSecret, driver: ipsec.driver('203.0.113.141'), publicIp: '203.0.113.141' }));
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: dc.id, secret: dc.agentSecret, driver: ipsec.driver('198.51.100.141'), publicIp: '198.51.100.141' }));
    const link = await s.api<LinkBody>('POST', '/api/links', { a: gw.id, b: dc.id });
    expect(link.status).toBe(202);
    await expect.poll(() => linkState(link.body.id), { timeout: 30_000 }).toBe('up');
    const routeTo = () => aliyun.routeEntries(site.systemTableId).find((e) => e.destinationCidrBlock === '192.168.41.0/24')?.nextHopId;
    expect(routeTo()).toBe(site.instanceId);

    // Some other machine of the VPC, with a public address of its own. The stolen secret is used
    // from it: its metadata service (truthfully) names it and its own EIP.
    const other = aliyun.addInstance({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIp: '10.41.1.99', securityGroupIds: [site.securityGroupId], eip: '203.0.113.199' });
    const meta = await FakeMetadataServer.start({ cloud: 'aliyun', instanceId: other.instanceId, region: 'cn-hangzhou', eip: '203.0.113.199' });
    s.track(meta);
    const thief = await startTestAgent({
      controllerUrl: s.ctl.agentUrl,
      gatewayId: gw.id,
      secret: gw.agentSecret,
      driver: ipsec.driver('203.0.113.199'),
      metadata: createMetadataSource({ provider: 'aliyun', endpoint: meta.url, log: silentLogger }),
    });
    s.track(thief);

    // The controller asks the cloud about the operator's address, which is still on the gateway.
    const check = () => s.ctl.client.workflow.getHandle<typeof followInstanceWorkflow>(followInstanceWorkflowId(gw.id));
    await expect.poll(async () => (await check().result().catch(() => undefined))?.followed, { timeout: 20_000 }).toBe(false);
    expect((await check().result()).reason).toContain(`the cloud has 203.0.113.141 on ${site.instanceId}, not on ${other.instanceId}`);
    // Give any re-plan the time it would take, then check nothing moved.
    await new Promise((r) => setTimeout(r, 2000));
    expect(routeTo()).toBe(site.instanceId);
    const after = await get(gw.id);
    expect(after.cloud!.instanceId).toBe(site.instanceId);
    // The peer keeps dialling the operator's address, not the one the thief reported.
    expect(after.endpoint).toBe('203.0.113.141');
    const peerConfig = ipsec.drivers.get('198.51.100.141')!.conns.get(`link-${link.body.id}`)!;
    expect(peerConfig.remoteAddrs).toEqual(['203.0.113.141']);
    // No security-group rule was opened for anything but the registered peer.
    expect(aliyun.securityGroupRules(site.securityGroupId).every((r) => r.sourceCidrIp?.startsWith('198.51.100.141'))).toBe(true);
  });

  it("the operator's address wins over the one an on-prem agent reports", async () => {
    const a = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-op-a', provider: 'onprem', cidrs: ['192.168.42.0/24'], publicIp: '198.51.100.142' })).body;
    const b = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-op-b', provider: 'onprem', cidrs: ['192.168.43.0/24'], publicIp: '198.51.100.143' })).body;
    // Agent a says it is somewhere else; its peer must still dial the registered address.
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: a.id, secret: a.agentSecret, driver: ipsec.driver('198.51.100.142'), publicIp: '198.51.100.242' }));
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: b.id, secret: b.agentSecret, driver: ipsec.driver('198.51.100.143'), publicIp: '198.51.100.143' }));
    await expect.poll(async () => (await get(a.id)).endpoint, { timeout: 10_000 }).toBe('198.51.100.142');
    const link = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    await expect.poll(() => linkState(link.body.id), { timeout: 30_000 }).toBe('up');
    expect(ipsec.drivers.get('198.51.100.143')!.conns.get(`link-${link.body.id}`)!.remoteAddrs).toEqual(['198.51.100.142']);
  });
});
