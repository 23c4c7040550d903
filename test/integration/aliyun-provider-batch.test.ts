// The Alibaba Cloud provider's batch route methods (createRoutes, deleteRoutes, listRoutes) against
// the fake through the real SDK: one API call per invocation, per-route results for per-entry
// failures, whole-call failures thrown as CloudError kinds.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAliyunProvider, isDuplicateRouteError, maxRoutesPerBatch } from '../../cloud/aliyun';
import type { AliyunClients } from '../../cloud/aliyun/clients';
import { entryError } from '../../cloud/aliyun/errors';
import { createRoutes } from '../../cloud/aliyun/route-batches';
import { CloudError, type CloudErrorKind, type CloudProvider, type CloudTarget, type RouteBatchResult, type RouteSpec } from '../../cloud/types';
import { AliyunFake, addGatewaySite, eventually, type GatewaySite } from '../fakes/aliyun';

const region = 'cn-hangzhou';
const keys = { accessKeyId: 'AK', accessKeySecret: 'SECRET' };

let fake: AliyunFake;
let site: GatewaySite;
let cloud: CloudProvider;

const target = (o: Partial<CloudTarget> = {}): CloudTarget => ({ provider: 'aliyun', region, credentials: keys, endpoints: { vpc: fake.url, ecs: fake.url }, ...o });

async function expectKind(p: Promise<unknown>, kind: CloudErrorKind, providerCode?: string): Promise<CloudError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof CloudError)) throw e;
    expect({ kind: e.kind, providerCode: e.providerCode }).toEqual({ kind, providerCode });
    return e;
  }
  throw new Error('expected a CloudError');
}

/** A result as plain data: [destination, outcome] or [destination, kind, providerCode]. */
const summary = (rs: RouteBatchResult<string>[]) =>
  rs.map((r) => ('outcome' in r ? [r.route.destinationCidr, r.outcome] : [r.route.destinationCidr, r.error.kind, r.error.providerCode]));

beforeAll(async () => {
  fake = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: 150 });
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  site = addGatewaySite(fake, 1, { publicIp: '198.51.100.10' });
  cloud = createAliyunProvider(target());
});

const route = (destinationCidr: string, o: Partial<RouteSpec> = {}): RouteSpec => ({ routeTableId: site.systemTableId, destinationCidr, instanceId: site.instanceId, ...o });
const routes = (n: number, third = 0) => Array.from({ length: n }, (_, i) => route(`192.168.${third + i}.0/24`));
const callsTo = (api: string) => fake.calls.filter((c) => c.api === api).length;
const allAvailable = () =>
  eventually(async () => {
    const listed = await cloud.listRoutes!(site.systemTableId);
    return listed.every((r) => r.status === 'Available') ? listed : undefined;
  });

describe('createRoutes', () => {
  it('creates N routes in ONE CreateRouteEntries call; all Pending, then Available with our instance', async () => {
    expect(cloud.capabilities.routeBatchSize).toBe(50);
    expect(maxRoutesPerBatch).toBe(50);
    const rs = routes(5);
    expect(summary(await cloud.createRoutes!(rs))).toEqual(rs.map((r) => [r.destinationCidr, 'created']));
    expect(fake.calls.map((c) => c.api)).toEqual(['CreateRouteEntries']);
    expect((await cloud.listRoutes!(site.systemTableId)).map((r) => r.status)).toEqual(Array(5).fill('Pending'));
    const listed = await allAvailable();
    expect(listed).toEqual(rs.map((r) => ({ destinationCidr: r.destinationCidr, status: 'Available', instanceId: site.instanceId, nextHop: `Instance:${site.instanceId}` })));
  });

  it('partial failure: per-route results in input order, with the single-entry error kinds', async () => {
    const other = fake.addInstance({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIp: '10.1.1.30' });
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.20.0/24', nextHopId: other.instanceId });
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.21.0/24', nextHopId: site.instanceId });
    const rs = [route('192.168.1.0/24'), route('192.168.20.0/24'), route('192.168.21.0/24'), route('10.1.1.0/24'), route('192.168.2.5')];
    const results = await cloud.createRoutes!(rs);
    expect(summary(results)).toEqual([
      ['192.168.1.0/24', 'created'],
      ['192.168.20.0/24', 'conflict', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE'],
      // Ours already: still a conflict, the response cannot tell; getRoute can.
      ['192.168.21.0/24', 'conflict', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE'],
      ['10.1.1.0/24', 'invalid', 'InvalidCidrBlock'],
      // A bare IP comes back as the /32 the API stored; the failure matching normalises it.
      ['192.168.2.5', 'created'],
    ]);
    const dup = results[1]!;
    expect('error' in dup && isDuplicateRouteError(dup.error)).toBe(true);
    expect('error' in dup && dup.error.retryable).toBe(false);
    expect((await cloud.getRoute(route('192.168.21.0/24')))?.instanceId).toBe(site.instanceId);
    expect(callsTo('CreateRouteEntries')).toBe(1);
  });

  it('not_found per route for an unknown next hop or route table', async () => {
    expect(summary(await cloud.createRoutes!([route('192.168.1.0/24', { instanceId: 'i-nope' })]))).toEqual([
      ['192.168.1.0/24', 'not_found', 'InvalidNextHopId.NotFound'],
    ]);
    expect(summary(await cloud.createRoutes!([route('192.168.1.0/24', { routeTableId: 'vtb-nope' })]))).toEqual([
      ['192.168.1.0/24', 'not_found', 'InvalidRouteTableId.NotFound'],
    ]);
  });

  it('a busy table is thrown as busy (retryable), nothing written', async () => {
    await cloud.createRoute(route('192.168.90.0/24'), 't1');
    const e = await expectKind(cloud.createRoutes!(routes(2)), 'busy', 'IncorrectRouteEntryStatus');
    expect(e.retryable).toBe(true);
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(1);
  });

  it('throttling is thrown as throttled; each call spends one unit of the API budget', async () => {
    fake.setLimits({ perApi: { CreateRouteEntries: { perSecond: 1 } } });
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    await cloud.createRoutes!(routes(10));
    await expectKind(cloud.createRoutes!([route('192.168.50.0/24', { routeTableId: custom.routeTableId })]), 'throttled', 'Throttling.User');
    expect(callsTo('CreateRouteEntries')).toBe(2);
  });

  it('refuses without a call: more than 50 routes, several tables, a destination twice; [] makes no call', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    await expectKind(cloud.createRoutes!(routes(51)), 'invalid');
    await expectKind(cloud.createRoutes!([route('192.168.1.0/24'), route('192.168.2.0/24', { routeTableId: custom.routeTableId })]), 'invalid');
    await expectKind(cloud.createRoutes!([route('192.168.1.0/24'), route('192.168.1.0/24')]), 'invalid');
    await expectKind(cloud.deleteRoutes!(routes(51)), 'invalid');
    expect(await cloud.createRoutes!([])).toEqual([]);
    expect(await cloud.deleteRoutes!([])).toEqual([]);
    expect(fake.calls).toHaveLength(0);
    expect(summary(await cloud.createRoutes!(routes(50)))).toHaveLength(50);
  });

  it('auth and 5xx failures of the whole call are thrown with their kinds', async () => {
    const bad = createAliyunProvider(target({ credentials: { accessKeyId: 'AK', accessKeySecret: 'WRONG' } }));
    await expectKind(bad.createRoutes!(routes(1)), 'auth', 'SignatureDoesNotMatch');
    fake.injectFault({ api: 'DeleteRouteEntries', status: 503 });
    await expectKind(cloud.deleteRoutes!(routes(1)), 'unavailable', 'ServiceUnavailable');
  });
});

describe('deleteRoutes', () => {
  it('deletes in ONE call; absent routes and routes pointing elsewhere are absent (and untouched)', async () => {
    await cloud.createRoutes!(routes(2));
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.40.0/24', nextHopId: 'i-someoneelse' });
    await allAvailable();
    const before = fake.calls.length;
    const rs = [...routes(2), route('192.168.9.0/24'), route('192.168.40.0/24')];
    expect(summary(await cloud.deleteRoutes!(rs))).toEqual([
      ['192.168.0.0/24', 'deleted'],
      ['192.168.1.0/24', 'deleted'],
      ['192.168.9.0/24', 'absent'],
      ['192.168.40.0/24', 'absent'],
    ]);
    expect(fake.calls.slice(before).map((c) => c.api)).toEqual(['DeleteRouteEntries']);
    expect((await cloud.getRoute(routes(1)[0]!))?.status).toBe('Deleting');
    await eventually(async () => ((await cloud.listRoutes!(site.systemTableId)).length === 1 ? true : undefined));
    expect(fake.routeEntries(site.systemTableId).map((e) => e.nextHopId)).toEqual(['i-someoneelse']);
  });

  it('busy (TaskConflict) is thrown; a system route or an unknown table is that route\'s own error', async () => {
    await cloud.createRoute(route('192.168.1.0/24'), 't');
    await expectKind(cloud.deleteRoutes!([route('192.168.1.0/24')]), 'busy', 'TaskConflict');
    await allAvailable();
    expect(summary(await cloud.deleteRoutes!([route('10.1.1.0/24'), route('192.168.1.0/24')]))).toEqual([
      ['10.1.1.0/24', 'invalid', 'OperationDenied'],
      ['192.168.1.0/24', 'deleted'],
    ]);
    expect(summary(await cloud.deleteRoutes!([route('192.168.1.0/24', { routeTableId: 'vtb-nope' })]))).toEqual([
      ['192.168.1.0/24', 'not_found', 'InvalidRouteTableId.NotFound'],
    ]);
  });
});

describe('batch result mapping', () => {
  /** Clients whose CreateRouteEntries answers `body`, to test answers the fake never gives. */
  const answering = (body: unknown): AliyunClients => ({ regionId: region, vpc: { createRouteEntries: async () => ({ statusCode: 200, body }) } } as unknown as AliyunClients);

  it('a failure the response does not tie to a sent route, or counts that do not add up, leave the rest unknown (unavailable)', async () => {
    const rs = [route('192.168.1.0/24'), route('192.168.2.0/24')];
    const stray = await createRoutes(answering({ successCount: 1, failedCount: 1, failedRouteEntries: [{ dstCidrBlock: '192.168.77.0/24', failedCode: 'X' }] }), rs);
    expect(summary(stray)).toEqual([
      ['192.168.1.0/24', 'unavailable', undefined],
      ['192.168.2.0/24', 'unavailable', undefined],
    ]);
    const short = await createRoutes(answering({ successCount: 0, failedCount: 1, failedRouteEntries: [{ dstCidrBlock: '192.168.2.0/24', failedCode: 'QuotaExceeded' }] }), rs);
    expect(summary(short)).toEqual([
      ['192.168.1.0/24', 'unavailable', undefined],
      ['192.168.2.0/24', 'quota', 'QuotaExceeded'],
    ]);
  });

  it('maps per-entry codes of both styles onto the single-entry kinds', () => {
    const kind = (code: string) => entryError('CreateRouteEntries', code, 'm').kind;
    expect(kind('VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE')).toBe('conflict');
    expect(kind('VPC_ROUTE_ENTRY_STATUS_ERROR')).toBe('busy');
    expect(kind('VPC_ROUTER_ENTRY_NOT_EXIST')).toBe('not_found');
    expect(kind('VPC_ROUTE_ENTRY_QUOTA_EXCEEDED')).toBe('quota');
    expect(kind('SOMETHING_ELSE')).toBe('invalid');
    expect(kind('IncorrectRouteEntryStatus')).toBe('busy');
    expect(kind('RouteConflict.AlreadyExist')).toBe('conflict');
    expect(kind('QuotaExceeded')).toBe('quota');
    expect(kind('InvalidNextHopId.NotFound')).toBe('not_found');
    expect(entryError('CreateRouteEntries', undefined, undefined)).toMatchObject({ kind: 'invalid', providerCode: 'Unknown' });
  });
});

describe('allowPeers / revokePeers', () => {
  const rule = (peerIp: string, securityGroupId = site.securityGroupId) => ({ securityGroupId, peerIp, description: `ipsec-mesh peer ${peerIp}` });
  const peerRules = (ip: string) => fake.securityGroupRules(site.securityGroupId).filter((r) => r.sourceCidrIp === `${ip}/32`);

  it("adds several peers' IKE/NAT-T rules in ONE AuthorizeSecurityGroup call, and removes them in one", async () => {
    const ips = ['198.51.100.31', '198.51.100.32', '198.51.100.33'];
    const before = callsTo('AuthorizeSecurityGroup');
    await cloud.allowPeers!(ips.map((ip) => rule(ip)));
    expect(callsTo('AuthorizeSecurityGroup') - before).toBe(1);
    for (const ip of ips) expect(peerRules(ip).map((r) => `${r.ipProtocol}:${r.portRange}`).sort()).toEqual(['UDP:4500/4500', 'UDP:500/500']);
    // Idempotent: asking again adds nothing.
    await cloud.allowPeers!(ips.map((ip) => rule(ip)));
    expect(peerRules(ips[0]!)).toHaveLength(2);
    const revokes = callsTo('RevokeSecurityGroup');
    await cloud.revokePeers!(ips.slice(0, 2).map((ip) => rule(ip)));
    expect(callsTo('RevokeSecurityGroup') - revokes).toBe(1);
    expect([peerRules(ips[0]!).length, peerRules(ips[1]!).length, peerRules(ips[2]!).length]).toEqual([0, 0, 2]);
  });

  it('refuses, without a call, more than 50 peers or rules of two groups', async () => {
    const before = fake.calls.length;
    await expectKind(cloud.allowPeers!(Array.from({ length: 51 }, (_, i) => rule(`198.51.100.${i + 1}`))), 'invalid');
    await expectKind(cloud.allowPeers!([rule('198.51.100.1'), rule('198.51.100.2', 'sg-other')]), 'invalid');
    expect(fake.calls.length).toBe(before);
  });
});
