// Cloud gateways end to end through the API, a real Temporal server, moto (AWS) and the Alibaba
// fake, with strongSwan replaced by FakeIpsecNetwork (the e2e suite runs real charon).
import { describe, expect, it } from 'vitest';
import { AssociateAddressCommand, DescribeAddressesCommand, DisassociateAddressCommand, DescribeInstanceAttributeCommand, DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, CreateRouteCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { replayDataConverter } from '../helpers/controller';
import { startTestAgent, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { missing, withStack } from '../helpers/with-stack';
import { addGatewaySite } from '../fakes/aliyun';
import { MOTO_REGION, motoEc2Client, seedAwsSite } from '../helpers/moto';
import type { ChangePreviewBody, CloudAccountBody, ErrorResponseBody, GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody, TeardownBody } from '../helpers/api-harness';
import { FakeMetadataServer } from '../fakes/metadata';
import { createMetadataSource } from '../../agent/metadata';
import { silentLogger } from '../../lib/log';
import { Worker } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { routeTableWorkflowId, securityGroupWorkflowId } from '../../contracts/cloud-objects';
import { followInstanceWorkflowId, type followInstanceWorkflow } from '../../workflows/discovery';

const needs = { controller: true, clouds: true, name: 'cloud' } as const;

/** A gateway as GET /api/gateways/:id shows it, with the agent secret its registration answered. */
type Gw = GatewayBody & Pick<RegisteredGatewayBody, 'agentSecret'>;

describe.skipIf(missing(needs, 'cloud link tests'))('cloud gateways: discovery, routes and rules (real Temporal, moto, Alibaba fake)', () => {
  const s = withStack(needs);
  const ipsec = new FakeIpsecNetwork();
  // Agents this file starts and replaces itself (it moves and restarts them); stopped with the stack.
  const agents: TestAgent[] = [];
  s.onClose(async () => {
    await Promise.all(agents.map((a) => a.stop()));
  });

  const get = async (id: string) => (await s.api<GatewayBody>('GET', `/api/gateways/${id}`)).body;
  const linkOf = async (id: string) => (await s.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;

  async function cloudGateway(name: string, provider: 'aliyun' | 'aws', publicIp: string, extra: Record<string, unknown> = {}): Promise<Gw> {
    const r = await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name, provider, region: provider === 'aws' ? MOTO_REGION : 'cn-hangzhou', publicIp, account: s.accounts[provider], ...extra });
    expect(r.status).toBe(201);
    expect(r.body.state).toBe('discovering');
    await expect.poll(async () => (await get(r.body.id)).state, { timeout: 20_000 }).not.toBe('discovering');
    return { ...(await get(r.body.id)), agentSecret: r.body.agentSecret };
  }

  async function runAgent(g: Gw, publicIp: string) {
    const a = await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: g.id, secret: g.agentSecret, driver: ipsec.driver(publicIp), publicIp });
    agents.push(a);
    await expect.poll(async () => (await s.api<GatewayBody>('GET', `/api/gateways/${g.id}`)).body.online, { timeout: 10_000 }).toBe(true);
    return a;
  }

  it('refuses bad cloud accounts and gateways with clear errors', async () => {
    expect((await s.api('POST', '/api/cloud-accounts', { name: 'x', provider: 'gcp' })).status).toBe(400);
    expect((await s.api('POST', '/api/cloud-accounts', { name: 'x', provider: 'aws', endpoints: { vpc: 'http://x' } })).status).toBe(400);
    expect((await s.api('POST', '/api/cloud-accounts', { name: 'x', provider: 'aws', credentials: { accessKeyId: 'a' } })).status).toBe(400);
    const acct = await s.api<CloudAccountBody>('GET', `/api/cloud-accounts/${s.accounts.aliyun}`);
    expect(acct.body.credentials).toBe('stored (encrypted)');
    expect(JSON.stringify(acct.body)).not.toContain('aliyun-test-secret');
    const row = await s.ctl.db.cloudAccount.findUniqueOrThrow({ where: { id: s.accounts.aliyun } });
    expect(row.credentialsCiphertext).not.toContain('aliyun-test-secret');
    expect((await s.api('POST', '/api/gateways', { name: 'g', provider: 'aws', region: MOTO_REGION, publicIp: '203.0.113.1', account: 'acnope' })).status).toBe(404);
    expect((await s.api('POST', '/api/gateways', { name: 'g', provider: 'aws', region: MOTO_REGION, publicIp: '203.0.113.1', account: s.accounts.aliyun })).status).toBe(409);
    expect((await s.api('POST', '/api/gateways', { name: 'g', provider: 'aws', region: 'nowhere', publicIp: '203.0.113.1', account: s.accounts.aws })).status).toBe(400);
  });

  it('discovery fails the gateway with the reason when no instance has the IP, keeping no partial data', async () => {
    const g = await cloudGateway('ghost', 'aliyun', '198.51.100.250');
    expect(g.state).toBe('failed');
    expect(g.stateReason).toMatch(/no instance|not found/i);
    expect(g.cidrs).toEqual([]);
    const other = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-x', provider: 'onprem', cidrs: ['192.168.77.0/24'] })).body;
    const link = await s.api<ErrorResponseBody>('POST', '/api/links', { a: other.id, b: g.id });
    expect(link.status).toBe(409);
    expect(link.body.error.message).toContain('discovery failed');
  });

  it('writes only the route tables the operator chose, and refuses a table that is not in the VPC', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 28, { eip: '203.0.113.128' });
    const chosen = s.clouds.aliyun.addRouteTable({ vpcId: ali.vpcId });
    const g = await cloudGateway('ali-chosen', 'aliyun', '203.0.113.128', { routeTables: [chosen.routeTableId] });
    expect(g).toMatchObject({ state: 'ready', cloud: { routeTableIds: [chosen.routeTableId] } });
    await runAgent(g, '203.0.113.128');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-chosen', provider: 'onprem', cidrs: ['192.168.140.0/24'] })).body;
    await runAgent(dc, '198.51.100.128');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: g.id, b: dc.id });
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
    const to = (table: string) => s.clouds.aliyun.routeEntries(table).filter((e) => e.destinationCidrBlock === '192.168.140.0/24').map((e) => e.nextHopId);
    expect(to(chosen.routeTableId)).toEqual([ali.instanceId]);
    expect(to(ali.systemTableId)).toEqual([]);
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');

    // A table of another VPC (or none at all): the gateway fails with the reason, keeping no partial data.
    const elsewhere = addGatewaySite(s.clouds.aliyun, 29, { eip: '203.0.113.129' });
    const bad = await cloudGateway('ali-wrong-table', 'aliyun', '203.0.113.128', { routeTables: [elsewhere.systemTableId] });
    expect(bad.state).toBe('failed');
    expect(bad.stateReason).toContain(`${elsewhere.systemTableId} are not in ${ali.vpcId}`);
    expect(bad.cidrs).toEqual([]);
    expect(bad.cloud?.routeTableIds ?? []).toEqual([]);
  });

  it("a permanent refusal (route quota) fails the link at once, with the provider's code in its events", async () => {
    addGatewaySite(s.clouds.aliyun, 31, { eip: '203.0.113.131' });
    const g = await cloudGateway('ali-quota', 'aliyun', '203.0.113.131');
    await runAgent(g, '203.0.113.131');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-quota', provider: 'onprem', cidrs: ['192.168.160.0/24'] })).body;
    await runAgent(dc, '198.51.100.131');
    const writesBefore = s.clouds.aliyun.calls.filter((c) => c.api.startsWith('CreateRouteEntr')).length;
    s.clouds.aliyun.injectFault({ api: 'CreateRouteEntry', code: 'QuotaExceeded', times: Infinity });
    s.clouds.aliyun.injectFault({ api: 'CreateRouteEntries', code: 'QuotaExceeded', times: Infinity });
    try {
      const r = await s.api<LinkBody>('POST', '/api/links', { a: g.id, b: dc.id });
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('failed');
      const link = await linkOf(r.body.id);
      expect(link.stateReason).toContain('QuotaExceeded');
      expect(link.events.find((e) => e.type === 'link.failed')?.message).toContain('QuotaExceeded');
      // Not retried: one write, refused.
      expect(s.clouds.aliyun.calls.filter((c) => c.api.startsWith('CreateRouteEntr')).length - writesBefore).toBe(1);
      expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
    } finally {
      s.clouds.aliyun.clearFaults();
    }
  });

  it('keeps a peer rule while another link still needs it (two sites behind one NAT address)', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 30, { eip: '203.0.113.130' });
    const g = await cloudGateway('ali-shared', 'aliyun', '203.0.113.130');
    await runAgent(g, '203.0.113.130');
    // Two data-center gateways leave through the same NAT address: one rule serves both links.
    const dcs: Gw[] = [];
    for (const [i, cidr] of ['192.168.150.0/24', '192.168.151.0/24'].entries()) {
      const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `dc-nat-${i}`, provider: 'onprem', cidrs: [cidr], publicIp: '198.51.100.130' })).body;
      await runAgent(dc, '198.51.100.130');
      dcs.push(dc);
    }
    const links: string[] = [];
    for (const dc of dcs) {
      const r = await s.api<LinkBody>('POST', '/api/links', { a: g.id, b: dc.id });
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
      links.push(r.body.id);
    }
    const rules = () => s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp === '198.51.100.130/32').length;
    expect(rules()).toBe(2); // UDP 500 and 4500
    // The delete's confirmation: the first link's routes go, its rule stays for the second link.
    const first = (await s.api<TeardownBody>('GET', `/api/links/${links[0]}/teardown`)).body;
    expect(first.routes).toEqual([
      { gateway: { id: g.id, name: 'ali-shared' }, routeTableId: ali.systemTableId, destinationCidr: '192.168.150.0/24', instanceId: ali.instanceId, removed: true },
    ]);
    expect(first.rules).toEqual([{ gateway: { id: g.id, name: 'ali-shared' }, securityGroupId: ali.securityGroupId, peerIp: '198.51.100.130', removed: false, keptBecause: `link ${links[1]} still needs it` }]);
    expect((await s.api('GET', '/api/links/lnk-nope/teardown')).status).toBe(404);
    expect((await s.api('DELETE', `/api/links/${links[0]}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(links[0]!)).state, { timeout: 30_000 }).toBe('deleted');
    expect(rules()).toBe(2);
    // Now the second link is the rule's last holder: its delete removes it.
    expect((await s.api<TeardownBody>('GET', `/api/links/${links[1]}/teardown`)).body.rules).toMatchObject([{ peerIp: '198.51.100.130', removed: true }]);
    expect((await s.api('DELETE', `/api/links/${links[1]}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(links[1]!)).state, { timeout: 30_000 }).toBe('deleted');
    expect(rules()).toBe(0);
  });

  it('links Alibaba Cloud and AWS from public IPs alone (throttled, never failing): routes, rules, source/dest check; delete removes exactly ours', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 21, { eip: '203.0.113.121' });
    const extraTable = s.clouds.aliyun.addRouteTable({ vpcId: ali.vpcId });
    const aws = await seedAwsSite(s.clouds.moto.endpoint, { cidr: '10.60.0.0/16', secondaryCidr: '10.61.0.0/16', publicIp: '198.51.100.160', name: 'aws1' });
    const ga = await cloudGateway('ali-hz', 'aliyun', '203.0.113.121');
    const gw = await cloudGateway('aws-ie', 'aws', '198.51.100.160');
    expect(ga).toMatchObject({ state: 'ready', cidrs: ['10.21.0.0/16', '172.37.0.0/16'], cloud: { instanceId: ali.instanceId, vpcId: ali.vpcId } });
    expect(ga.cloud!.routeTableIds.sort()).toEqual([ali.systemTableId, extraTable.routeTableId].sort());
    expect(gw).toMatchObject({ state: 'ready', cidrs: ['10.60.0.0/16', '10.61.0.0/16'], cloud: { instanceId: aws.instanceId, vpcId: aws.vpcId } });
    expect(gw.cloud!.routeTableIds.sort()).toEqual([aws.mainRouteTableId, aws.routeTableId].sort());

    // Someone else's identical route is left alone on delete.
    const ec2 = motoEc2Client(s.clouds.moto.endpoint, MOTO_REGION);
    await ec2.send(new CreateRouteCommand({ RouteTableId: aws.mainRouteTableId, DestinationCidrBlock: '10.21.0.0/16', InstanceId: aws.instanceId }));

    await runAgent(ga, '203.0.113.121');
    await runAgent(gw, '198.51.100.160');
    // Alibaba's per-API limit far below the controller's default budget: calls get Throttling.User,
    // which must only slow the link down, never fail it.
    s.clouds.aliyun.setLimits({ default: { perSecond: 1 } });
    const throttledBefore = s.clouds.aliyun.calls.filter((c) => c.code === 'Throttling.User').length;
    const r = await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: gw.id });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 60_000 }).toBe('up');
    expect(s.clouds.aliyun.calls.filter((c) => c.code === 'Throttling.User').length).toBeGreaterThan(throttledBefore);
    s.clouds.aliyun.setLimits({});

    // Alibaba: AWS's CIDRs → the Alibaba instance, in both tables, Available.
    for (const table of [ali.systemTableId, extraTable.routeTableId]) {
      const entries = s.clouds.aliyun.routeEntries(table).filter((e) => e.nextHopId === ali.instanceId);
      expect(entries.map((e) => e.destinationCidrBlock).sort()).toEqual(['10.60.0.0/16', '10.61.0.0/16']);
      expect(entries.every((e) => e.status === 'Available')).toBe(true);
    }
    // AWS: Alibaba's CIDRs → the AWS instance in every table.
    const tables = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [aws.mainRouteTableId, aws.routeTableId] }))).RouteTables!;
    for (const t of tables) {
      const ours = t.Routes!.filter((x) => x.InstanceId === aws.instanceId).map((x) => x.DestinationCidrBlock).sort();
      expect(ours).toEqual(['10.21.0.0/16', '172.37.0.0/16']);
    }
    const sdc = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: aws.instanceId, Attribute: 'sourceDestCheck' }));
    expect(sdc.SourceDestCheck?.Value).toBe(false);
    // Security groups: the peer may speak IKE/NAT-T (and ESP on AWS).
    const aliRules = s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp?.startsWith('198.51.100.160'));
    expect(aliRules.map((x) => `${x.ipProtocol}:${x.portRange}`).sort()).toEqual(['UDP:4500/4500', 'UDP:500/500']);
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [aws.securityGroupId] }))).SecurityGroups![0]!;
    const fromAli = sg.IpPermissions!.filter((p) => p.IpRanges?.some((x) => x.CidrIp === '203.0.113.121/32'));
    expect(fromAli.map((p) => `${p.IpProtocol}:${p.FromPort}`).sort()).toEqual(['50:-1', 'udp:4500', 'udp:500']);
    const link = await linkOf(r.body.id);
    expect(link.events.map((e) => e.type)).toEqual(expect.arrayContaining(['cloud.rule_added', 'cloud.routes_added', 'link.up']));

    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
    for (const table of [ali.systemTableId, extraTable.routeTableId]) {
      expect(s.clouds.aliyun.routeEntries(table).filter((e) => e.nextHopId === ali.instanceId)).toEqual([]);
    }
    const after = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [aws.mainRouteTableId, aws.routeTableId] }))).RouteTables!;
    const remaining = after.flatMap((t) => t.Routes!.filter((x) => x.InstanceId === aws.instanceId).map((x) => `${t.RouteTableId}:${x.DestinationCidrBlock}`));
    // Only the route that existed before the link is still there.
    expect(remaining).toEqual([`${aws.mainRouteTableId}:10.21.0.0/16`]);
    expect(s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp?.startsWith('198.51.100.160'))).toEqual([]);
    const sgAfter = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [aws.securityGroupId] }))).SecurityGroups![0]!;
    expect(sgAfter.IpPermissions!.filter((p) => p.IpRanges?.some((x) => x.CidrIp === '203.0.113.121/32'))).toEqual([]);

    // Each workflow this link went through replays against the current code. With UPDATE_HISTORIES
    // set, the histories become fixtures that later versions must replay (test/unit/replay.test.ts).
    const ref = { provider: 'aliyun' as const, accountId: s.accounts.aliyun, region: 'cn-hangzhou' };
    const histories = {
      'cloud-link.json': r.body.workflowId,
      'route-table.json': routeTableWorkflowId(ref, ali.systemTableId),
      'security-group.json': securityGroupWorkflowId(ref, ali.securityGroupId),
    };
    for (const [file, workflowId] of Object.entries(histories)) {
      const history = await s.ctl.client.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: s.temporal.bundle, dataConverter: replayDataConverter() }, history, workflowId);
      if (process.env.UPDATE_HISTORIES) {
        const dir = path.join(__dirname, '..', 'fixtures', 'histories');
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, file), historyToJSON(history));
      }
    }
  });

  it("fails clearly, without overwriting, when a route is someone else's", async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 22, { publicIp: '203.0.113.122' });
    // A route for the peer's CIDR already points elsewhere in Alibaba's system table.
    s.clouds.aliyun.addRouteEntry({ routeTableId: ali.systemTableId, destinationCidrBlock: '10.70.0.0/16', nextHopType: 'HaVip', nextHopId: 'havip-someone' });
    await seedAwsSite(s.clouds.moto.endpoint, { cidr: '10.70.0.0/16', secondaryCidr: '10.71.0.0/16', publicIp: '198.51.100.170', name: 'aws2' });
    const ga = await cloudGateway('ali-sh', 'aliyun', '203.0.113.122');
    const gw = await cloudGateway('aws-2', 'aws', '198.51.100.170');
    await runAgent(ga, '203.0.113.122');
    await runAgent(gw, '198.51.100.170');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: gw.id });
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 40_000 }).toBe('failed');
    const link = await linkOf(r.body.id);
    expect(link.stateReason).toContain('10.70.0.0/16');
    expect(link.stateReason).toMatch(/havip-someone|not this gateway/);
    const theirs = s.clouds.aliyun.routeEntries(ali.systemTableId).find((e) => e.destinationCidrBlock === '10.70.0.0/16');
    expect(theirs?.nextHopId).toBe('havip-someone');
    expect(link.events.filter((e) => e.type === 'link.failed')).toHaveLength(1);
    // Deleting the failed link still cleans up what it did create.
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
    expect(s.clouds.aliyun.routeEntries(ali.systemTableId).find((e) => e.destinationCidrBlock === '10.70.0.0/16')?.nextHopId).toBe('havip-someone');
  });

  it('changes a cloud link: new routes before old ones go, a conflicting route rolls the change back, rules follow a moved peer', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 23, { eip: '203.0.113.123' });
    const ga = await cloudGateway('ali-chg', 'aliyun', '203.0.113.123');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-chg', provider: 'onprem', cidrs: ['192.168.80.0/22'] })).body;
    await runAgent(ga, '203.0.113.123');
    await runAgent(dc, '198.51.100.180');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: dc.id, cidrs: { b: ['192.168.80.0/24'] } });
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
    const ours = () => s.clouds.aliyun.routeEntries(ali.systemTableId).filter((e) => e.nextHopId === ali.instanceId).map((e) => e.destinationCidrBlock).sort();
    expect(ours()).toEqual(['192.168.80.0/24']);

    // Replace the remote network: the new route is written before the old one is deleted.
    const plan = await s.api<ChangePreviewBody>('POST', `/api/links/${r.body.id}/plan`, { cidrs: { b: ['192.168.81.0/24'] } });
    expect(plan.body.a.routes.add.map((x) => x.destinationCidr)).toEqual(['192.168.81.0/24']);
    expect(plan.body.a.routes.remove.map((x) => x.destinationCidr)).toEqual(['192.168.80.0/24']);
    const callsBefore = s.clouds.aliyun.calls.length;
    expect((await s.api('PATCH', `/api/links/${r.body.id}`, { cidrs: { b: ['192.168.81.0/24'] } })).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).events.some((e) => e.type === 'link.changed'), { timeout: 30_000 }).toBe(true);
    expect(ours()).toEqual(['192.168.81.0/24']);
    const writes = s.clouds.aliyun.calls.slice(callsBefore).filter((c) => c.ok && (c.api === 'CreateRouteEntry' || c.api === 'DeleteRouteEntry')).map((c) => c.api);
    expect(writes).toEqual(['CreateRouteEntry', 'DeleteRouteEntry']);

    // Someone else routes 192.168.82.0/24 in that table: adding it fails for good, and the link
    // goes back to what worked, leaving their route alone.
    s.clouds.aliyun.addRouteEntry({ routeTableId: ali.systemTableId, destinationCidrBlock: '192.168.82.0/24', nextHopType: 'HaVip', nextHopId: 'havip-other' });
    expect((await s.api('PATCH', `/api/links/${r.body.id}`, { cidrs: { b: ['192.168.81.0/24', '192.168.82.0/24'] } })).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).events.some((e) => e.type === 'link.rolled_back'), { timeout: 30_000 }).toBe(true);
    const rolled = await linkOf(r.body.id);
    expect(rolled.state).toBe('up');
    expect(rolled.stateReason).toMatch(/rolled back.*192\.168\.82\.0\/24/);
    expect((await s.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.b.cidrs).toEqual(['192.168.81.0/24']);
    expect(ours()).toEqual(['192.168.81.0/24']);
    expect(s.clouds.aliyun.routeEntries(ali.systemTableId).find((e) => e.destinationCidrBlock === '192.168.82.0/24')?.nextHopId).toBe('havip-other');
    expect(await s.ctl.db.routeClaim.count({ where: { linkId: r.body.id, destinationCidr: '192.168.82.0/24', NOT: { state: 'deleted' } } })).toBe(0);

    // The data center's public address changes: the Alibaba security group follows it.
    const rules = (ip: string) => s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp?.startsWith(ip)).length;
    expect(rules('198.51.100.180')).toBe(2);
    const old = agents.pop()!;
    await old.stop();
    ipsec.drivers.get('198.51.100.180')!.moveTo('198.51.100.181');
    const moved = await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: dc.id, secret: dc.agentSecret, driver: ipsec.drivers.get('198.51.100.181')!, publicIp: '198.51.100.181', stateDir: old.stateDir });
    agents.push(moved);
    await expect.poll(() => rules('198.51.100.181'), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => rules('198.51.100.180'), { timeout: 30_000 }).toBe(0);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');

    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
    expect(ours()).toEqual([]);
    expect(rules('198.51.100.181')).toBe(0);
  });

  it('moves routes to the new instance when the gateway now runs on another one (standby took over the EIP)', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 24, { eip: '203.0.113.124' });
    const ga = await cloudGateway('ali-ha', 'aliyun', '203.0.113.124');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-ha', provider: 'onprem', cidrs: ['192.168.90.0/24'] })).body;
    const first = await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: ga.id, secret: ga.agentSecret, driver: ipsec.driver('203.0.113.124'), publicIp: '203.0.113.124' });
    await runAgent(dc, '198.51.100.190');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: dc.id });
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
    const routeTo = () => s.clouds.aliyun.routeEntries(ali.systemTableId).find((e) => e.destinationCidrBlock === '192.168.90.0/24')?.nextHopId;
    expect(routeTo()).toBe(ali.instanceId);

    // An agent that claims another instance the cloud does not back (the EIP is still on the
    // first one) changes nothing: routes stay, the gateway keeps its instance.
    const impostor = s.clouds.aliyun.addInstance({ vpcId: ali.vpcId, vSwitchId: ali.vSwitchId, privateIp: '10.24.1.12', securityGroupIds: [ali.securityGroupId] });
    const fakeMeta = await FakeMetadataServer.start({ cloud: 'aliyun', instanceId: impostor.instanceId, region: 'cn-hangzhou', eip: '203.0.113.124' });
    await first.stop();
    const liar = await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: ga.id, secret: ga.agentSecret, driver: ipsec.drivers.get('203.0.113.124')!, stateDir: first.stateDir, metadata: createMetadataSource({ provider: 'aliyun', endpoint: fakeMeta.url, log: silentLogger }) });
    const check = () => s.ctl.client.workflow.getHandle<typeof followInstanceWorkflow>(followInstanceWorkflowId(ga.id));
    await expect.poll(async () => (await check().result().catch(() => undefined))?.followed, { timeout: 20_000 }).toBe(false);
    expect((await check().result()).reason).toContain('not on ' + impostor.instanceId);
    expect(routeTo()).toBe(ali.instanceId);
    expect((await get(ga.id)).cloud!.instanceId).toBe(ali.instanceId);
    await liar.stop();
    await fakeMeta.stop();

    // The VPN container now runs on a standby instance in the same vSwitch, which took over the
    // EIP; the instance metadata service there says so, the agent reports it, the cloud agrees.
    const standby = s.clouds.aliyun.addInstance({ vpcId: ali.vpcId, vSwitchId: ali.vSwitchId, privateIp: '10.24.1.11', securityGroupIds: [ali.securityGroupId] });
    s.clouds.aliyun.moveEip(ali.instanceId, standby.instanceId);
    const meta = await FakeMetadataServer.start({ cloud: 'aliyun', instanceId: standby.instanceId, region: 'cn-hangzhou', eip: '203.0.113.124' });
    try {
      agents.push(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: ga.id, secret: ga.agentSecret, driver: ipsec.drivers.get('203.0.113.124')!, stateDir: first.stateDir, metadata: createMetadataSource({ provider: 'aliyun', endpoint: meta.url, log: silentLogger }) }));
      await expect.poll(routeTo, { timeout: 30_000 }).toBe(standby.instanceId);
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
      expect((await get(ga.id)).cloud!.instanceId).toBe(standby.instanceId);
      // One route per destination, pointing at the standby; the claim records follow.
      expect(s.clouds.aliyun.routeEntries(ali.systemTableId).filter((e) => e.destinationCidrBlock === '192.168.90.0/24')).toHaveLength(1);
      const claims = await s.ctl.db.routeClaim.findMany({ where: { linkId: r.body.id, NOT: { state: 'deleted' } } });
      expect(claims.map((c) => c.instanceId)).toEqual([standby.instanceId]);
    } finally {
      await meta.stop();
    }
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
    expect(routeTo()).toBeUndefined();
  });

  it('an AWS gateway whose EIP moved to a standby: routes follow and the standby forwards (source/destination check off)', async () => {
    const aws = await seedAwsSite(s.clouds.moto.endpoint, { cidr: '10.90.0.0/16', secondaryCidr: '10.91.0.0/16', publicIp: '198.51.100.191', name: 'aws-ha' });
    const gw = await cloudGateway('aws-ha', 'aws', '198.51.100.191');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-aws-ha', provider: 'onprem', cidrs: ['192.168.130.0/24'] })).body;
    const first = await runAgent(gw, '198.51.100.191');
    await runAgent(dc, '198.51.100.192');
    const r = await s.api<LinkBody>('POST', '/api/links', { a: gw.id, b: dc.id });
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
    const ec2 = motoEc2Client(s.clouds.moto.endpoint, MOTO_REGION);
    const routeTo = async () =>
      (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [aws.routeTableId] }))).RouteTables![0]!.Routes!.find((x) => x.DestinationCidrBlock === '192.168.130.0/24')?.InstanceId;
    expect(await routeTo()).toBe(aws.instanceId);
    const claimsOf = async () => (await s.ctl.db.routeClaim.findMany({ where: { linkId: r.body.id, NOT: { state: 'deleted' } }, orderBy: { id: 'asc' } })).map((c) => ({ id: c.id, instanceId: c.instanceId, state: c.state }));
    const before = await claimsOf();
    expect(before).toHaveLength(2); // both route tables of the VPC

    // A standby in the same subnet takes over the EIP; the agent, now on it, reports it (IMDS).
    const standby = (await ec2.send(new RunInstancesCommand({ ImageId: 'ami-00000001', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: aws.subnetId, SecurityGroupIds: [aws.securityGroupId] }))).Instances![0]!.InstanceId!;
    const eip = (await ec2.send(new DescribeAddressesCommand({ PublicIps: ['198.51.100.191'] }))).Addresses![0]!;
    // (Disassociated first: moto would otherwise keep showing the address on the first instance too.)
    await ec2.send(new DisassociateAddressCommand({ AssociationId: eip.AssociationId! }));
    await ec2.send(new AssociateAddressCommand({ AllocationId: eip.AllocationId!, InstanceId: standby }));
    const meta = await FakeMetadataServer.start({ cloud: 'aws', instanceId: standby, region: MOTO_REGION, publicIp: '198.51.100.191' });
    try {
      await first.stop();
      agents.push(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: gw.id, secret: gw.agentSecret, driver: ipsec.drivers.get('198.51.100.191')!, stateDir: first.stateDir, metadata: createMetadataSource({ provider: 'aws', endpoint: meta.url, log: silentLogger }) }));
      await expect.poll(routeTo, { timeout: 30_000 }).toBe(standby);
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
      const sdc = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: standby, Attribute: 'sourceDestCheck' }));
      expect(sdc.SourceDestCheck?.Value).toBe(false);
      // Re-pointed in place (ReplaceRoute), not deleted and created again: the same claims, now on the standby.
      expect(await claimsOf()).toEqual(before.map((c) => ({ ...c, instanceId: standby })));
      expect((await linkOf(r.body.id)).events.map((e) => e.type)).toContain('cloud.routes_moved');
    } finally {
      await meta.stop();
    }
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
    expect(await routeTo()).toBeUndefined();
  });

  it('a link that failed on a foreign route comes up once that route is gone and its agent reconnects', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 27, { eip: '203.0.113.127' });
    const ga = await cloudGateway('ali-retry', 'aliyun', '203.0.113.127');
    const agent = await runAgent(ga, '203.0.113.127');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-retry', provider: 'onprem', cidrs: ['192.168.120.0/24'] })).body;
    await runAgent(dc, '198.51.100.127');
    const foreign = s.clouds.aliyun.addRouteEntry({ routeTableId: ali.systemTableId, destinationCidrBlock: '192.168.120.0/24', nextHopType: 'HaVip', nextHopId: 'havip-retry' });
    const r = await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: dc.id });
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('failed');
    // The operator removes the foreign route; the next reconnect of the cloud end re-plans the link,
    // which provisions again: the peer rule (already added) and the route must both go through.
    s.clouds.aliyun.removeRouteEntry(foreign.routeEntryId);
    await agent.stop();
    await runAgent(ga, '203.0.113.127');
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('up');
    const ours = s.clouds.aliyun.routeEntries(ali.systemTableId).find((e) => e.destinationCidrBlock === '192.168.120.0/24');
    expect(ours).toMatchObject({ nextHopId: ali.instanceId, status: 'Available' });
    expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
  });

  it('a link deleted right after it was requested keeps a route that was there before it', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 26, { eip: '203.0.113.126' });
    const ga = await cloudGateway('ali-quick', 'aliyun', '203.0.113.126');
    await runAgent(ga, '203.0.113.126');
    const dc = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'dc-quick', provider: 'onprem', cidrs: ['192.168.110.0/24', '192.168.111.0/24'] })).body;
    await runAgent(dc, '198.51.100.126');
    // Someone already routes one of the peer's networks to this very instance: the link adopts it
    // and, being deleted, must leave it where it was.
    s.clouds.aliyun.addRouteEntry({ routeTableId: ali.systemTableId, destinationCidrBlock: '192.168.110.0/24', nextHopType: 'Instance', nextHopId: ali.instanceId });
    const entry = (cidr: string) => s.clouds.aliyun.routeEntries(ali.systemTableId).find((e) => e.destinationCidrBlock === cidr);
    // The DELETE lands while the link is planning and claiming (its writes may already be queued),
    // or just after: either way only what the link created goes.
    for (let round = 0; round < 3; round++) {
      const r = await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: dc.id });
      expect(r.status).toBe(202);
      expect((await s.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
      await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 30_000 }).toBe('deleted');
      expect(entry('192.168.110.0/24')?.nextHopId, `round ${round}`).toBe(ali.instanceId);
      await expect.poll(() => entry('192.168.111.0/24'), { timeout: 10_000 }).toBeUndefined();
    }
  });

  it('batches route writes and security-group rules that queue up (CreateRouteEntries / DeleteRouteEntries, Permissions.N)', async () => {
    const ali = addGatewaySite(s.clouds.aliyun, 25, { eip: '203.0.113.125' });
    const ga = await cloudGateway('ali-batch', 'aliyun', '203.0.113.125');
    await runAgent(ga, '203.0.113.125');
    const peers: Gw[] = [];
    for (let i = 0; i < 5; i++) {
      const p = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: `dc-batch-${i}`, provider: 'onprem', cidrs: [`192.168.${100 + i}.0/24`] })).body;
      await runAgent(p, `198.51.100.${200 + i}`);
      peers.push(p);
    }
    const callsBefore = s.clouds.aliyun.calls.length;
    const links = await Promise.all(peers.map(async (p) => (await s.api<LinkBody>('POST', '/api/links', { a: ga.id, b: p.id })).body.id));
    for (const id of links) await expect.poll(async () => (await linkOf(id)).state, { timeout: 30_000 }).toBe('up');
    const ours = () => s.clouds.aliyun.routeEntries(ali.systemTableId).filter((e) => e.nextHopId === ali.instanceId);
    expect(ours().map((e) => e.destinationCidrBlock).sort()).toEqual(peers.map((_, i) => `192.168.${100 + i}.0/24`));
    expect(ours().every((e) => e.status === 'Available')).toBe(true);
    const writes = (api: string) => s.clouds.aliyun.calls.slice(callsBefore).filter((c) => c.ok && c.api === api).length;
    // Five routes in fewer than five write calls: whatever queued while the table was busy went in one.
    expect(writes('CreateRouteEntries')).toBeGreaterThan(0);
    expect(writes('CreateRouteEntry') + writes('CreateRouteEntries')).toBeLessThan(5);
    // The five peers' security-group rules likewise: fewer calls than peers, every rule present.
    expect(writes('AuthorizeSecurityGroup')).toBeLessThan(5);
    for (let i = 0; i < 5; i++) expect(s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp === `198.51.100.${200 + i}/32`)).toHaveLength(2);

    const before = s.clouds.aliyun.calls.length;
    await Promise.all(links.map((id) => s.api('DELETE', `/api/links/${id}`)));
    for (const id of links) await expect.poll(async () => (await linkOf(id)).state, { timeout: 30_000 }).toBe('deleted');
    expect(ours()).toEqual([]);
    const deletes = s.clouds.aliyun.calls.slice(before).filter((c) => c.ok && (c.api === 'DeleteRouteEntry' || c.api === 'DeleteRouteEntries')).length;
    expect(deletes).toBeLessThan(5);
    expect(s.clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp?.startsWith('198.51.100.20'))).toEqual([]);
    expect(s.clouds.aliyun.calls.slice(before).filter((c) => c.ok && c.api === 'RevokeSecurityGroup').length).toBeLessThan(5);
  });
});
