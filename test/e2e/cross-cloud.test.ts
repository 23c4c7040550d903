// Cross-cloud for real: an Alibaba Cloud site (the fake) and an AWS site (moto), each a namespace
// site behind 1:1 NAT with real charon and our agent. The operator gives only public IPs; the
// controller discovers both VPCs, writes routes and rules in both emulators, and traffic crosses
// the tunnel. Deleting the link removes the routes and rules and the traffic stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeRouteTablesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { netnsSupport } from '../helpers/netns';
import { temporalCliAvailable } from '../helpers/temporal';
import { startStack, type Stack } from '../helpers/stack';
import type { LinkBody, LinkWithEventsBody } from '../helpers/api-harness';
import { motoAvailable, registerAccounts, startClouds, type Clouds } from '../helpers/clouds';
import { addGatewaySite, type GatewaySite } from '../fakes/aliyun';
import { MOTO_REGION, motoEc2Client, seedAwsSite, type SeededSite } from '../helpers/moto';

const net = await netnsSupport();
const cli = temporalCliAvailable();
const moto = motoAvailable();
const reason = !net.ok ? net.reason : !cli.ok ? cli.reason : !moto.ok ? moto.reason : undefined;
if (reason) console.warn(`cross-cloud e2e test skipped: ${reason}`);

const ALI_IP = '203.0.113.51';
const AWS_IP = '198.51.100.52';

describe.runIf(!reason)('Alibaba Cloud ↔ AWS link from public IPs alone, real strongSwan', () => {
  let clouds: Clouds;
  let stack: Stack;
  let ali: GatewaySite;
  let aws: SeededSite;

  beforeAll(async () => {
    clouds = await startClouds();
    ali = addGatewaySite(clouds.aliyun, 81, { eip: ALI_IP });
    // AWS first: the VPC, subnet and instance exist in EC2, then the site takes the instance's public IP.
    aws = await seedAwsSite(clouds.moto.endpoint, { cidr: '10.82.0.0/16', secondaryCidr: '10.83.0.0/16', publicIp: AWS_IP, name: 'x' });
    let accounts: { aliyun: string; aws: string };
    stack = await startStack({
      id: 'xcl',
      sites: [
        { name: 'ali', publicIp: ALI_IP, lanCidr: '10.81.1.0/24', behindNat: true },
        { name: 'aws', publicIp: aws.publicIp, lanCidr: '10.82.1.0/24', behindNat: true },
      ],
      beforeRegister: async (ctl) => {
        accounts = await registerAccounts(ctl, clouds);
      },
      register: (s) =>
        s.name === 'ali'
          ? { name: 'ali-hangzhou', provider: 'aliyun', region: 'cn-hangzhou', publicIp: ALI_IP, account: accounts.aliyun }
          : { name: 'aws-ireland', provider: 'aws', region: MOTO_REGION, publicIp: aws.publicIp, account: accounts.aws },
    });
    await Promise.all([stack.startAgent('ali'), stack.startAgent('aws')]);
    await stack.fixture.tcpServer('aws', 7100);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    await clouds?.stop();
  });

  it('routes, rules and a working tunnel after POST /api/links; all gone after DELETE', async () => {
    const target = stack.fixture.site('aws').hostIp;
    expect(await stack.fixture.tcpProbe('ali', target, 7100, 1500)).toBe(false);
    // The link carries each VPC's primary block: charon's userspace ESP (kernel-libipsec, the only
    // kind this test kernel offers) needs a local address inside every local traffic selector,
    // and a gateway has none in a secondary block (see README, "Gateways and secondary CIDRs").
    const r = await stack.controller.api<LinkBody>('POST', '/api/links', {
      a: stack.gateways.get('ali')!.id,
      b: stack.gateways.get('aws')!.id,
      cidrs: { a: ['10.81.0.0/16'], b: ['10.82.0.0/16'] },
    });
    expect(r.status).toBe(202);
    await stack.fixture.waitForTcp('ali', target, 7100, { timeoutMs: 30_000, intervalMs: 20 }).catch(async (err: unknown) => {
      const link = await stack.controller.api('GET', `/api/links/${r.body.id}`);
      throw new Error(`${(err as Error).message}\nlink: ${JSON.stringify(link.body, null, 1)}\nali charon:\n${stack.fixture.charonLog('ali')}\naws charon:\n${stack.fixture.charonLog('aws')}`);
    });
    await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 30_000 }).toBe('up');

    const aliRoutes = clouds.aliyun.routeEntries(ali.systemTableId).filter((e) => e.nextHopId === ali.instanceId);
    expect(aliRoutes.map((e) => `${e.destinationCidrBlock}:${e.status}`)).toEqual(['10.82.0.0/16:Available']);
    const ec2 = motoEc2Client(clouds.moto.endpoint, MOTO_REGION);
    const tables = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [aws.mainRouteTableId, aws.routeTableId] }))).RouteTables!;
    for (const t of tables) {
      expect(t.Routes!.filter((x) => x.InstanceId === aws.instanceId).map((x) => x.DestinationCidrBlock)).toEqual(['10.81.0.0/16']);
    }

    expect((await stack.controller.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 30_000 }).toBe('deleted');
    expect(clouds.aliyun.routeEntries(ali.systemTableId).filter((e) => e.nextHopId === ali.instanceId)).toEqual([]);
    const after = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [aws.mainRouteTableId, aws.routeTableId] }))).RouteTables!;
    expect(after.flatMap((t) => t.Routes!.filter((x) => x.InstanceId === aws.instanceId))).toEqual([]);
    expect(clouds.aliyun.securityGroupRules(ali.securityGroupId).filter((x) => x.sourceCidrIp?.startsWith(AWS_IP))).toEqual([]);
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [aws.securityGroupId] }))).SecurityGroups![0]!;
    expect(sg.IpPermissions!.filter((p) => p.IpRanges?.some((x) => x.CidrIp === `${ALI_IP}/32`))).toEqual([]);
    expect(await stack.fixture.tcpProbe('ali', target, 7100, 1500)).toBe(false);
  });
});
