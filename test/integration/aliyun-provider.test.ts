// The Alibaba Cloud provider against the fake (real SDK clients over HTTP): discovery, routes with
// their asynchronous states and busy tables, security-group rules, and every error path mapped onto
// CloudError kinds. Each mutating method must cost exactly one API call.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAliyunProvider, isDuplicateRouteError } from '../../cloud/aliyun';
import { CloudError, type CloudErrorKind, type CloudProvider, type CloudTarget, type RouteSpec } from '../../cloud/types';
import { AliyunFake, addGatewaySite, eventually, type GatewaySite } from '../fakes/aliyun';

const region = 'cn-hangzhou';
const keys = { accessKeyId: 'AK', accessKeySecret: 'SECRET' };

let fake: AliyunFake;
let site: GatewaySite;
let cloud: CloudProvider;

const target = (o: Partial<CloudTarget> = {}): CloudTarget => ({
  provider: 'aliyun',
  region,
  credentials: keys,
  endpoints: { vpc: fake.url, ecs: fake.url },
  ...o,
});

/** The CloudError a call fails with (fails the test if it succeeds or throws anything else). */
async function cloudError(p: Promise<unknown>): Promise<CloudError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CloudError) return e;
    throw e;
  }
  throw new Error('expected a CloudError');
}

async function expectKind(p: Promise<unknown>, kind: CloudErrorKind, providerCode?: string): Promise<CloudError> {
  const e = await cloudError(p);
  expect({ kind: e.kind, providerCode: e.providerCode }).toEqual({ kind, providerCode });
  return e;
}

/** How many API calls `fn` made. */
async function callsMadeBy(fn: () => Promise<unknown>): Promise<number> {
  const before = fake.calls.length;
  await fn();
  return fake.calls.length - before;
}

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

const route = (o: Partial<RouteSpec> = {}): RouteSpec => ({
  routeTableId: site.systemTableId,
  destinationCidr: '192.168.10.0/24',
  instanceId: site.instanceId,
  ...o,
});
const routeAvailable = (r: RouteSpec) => eventually(async () => ((await cloud.getRoute(r))?.status === 'Available' ? true : undefined));

describe('discover', () => {
  it('finds the gateway, its VPC CIDRs (secondary included), every route table and its security groups from a public IP', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    expect(await cloud.discover('198.51.100.10')).toEqual({
      instanceId: site.instanceId,
      privateIp: site.privateIp,
      publicIp: '198.51.100.10',
      vpcId: site.vpcId,
      subnetId: site.vSwitchId,
      vpcCidrs: ['10.1.0.0/16', '172.17.0.0/16'],
      routeTableIds: [site.systemTableId, custom.routeTableId],
      securityGroupIds: [site.securityGroupId],
    });
  });

  it('falls back to EipAddresses when no instance has the address as its public IP', async () => {
    const eipSite = addGatewaySite(fake, 2, { eip: '203.0.113.20' });
    const found = await cloud.discover('203.0.113.20');
    expect(found).toMatchObject({ instanceId: eipSite.instanceId, publicIp: '203.0.113.20', vpcId: eipSite.vpcId });
    expect(fake.calls.filter((c) => c.api === 'DescribeInstances')).toHaveLength(2);
  });

  it('reads every page of route tables', async () => {
    const extra = Array.from({ length: 55 }, () => fake.addRouteTable({ vpcId: site.vpcId }).routeTableId);
    const found = await cloud.discover('198.51.100.10');
    expect(found.routeTableIds).toEqual([site.systemTableId, ...extra]);
    expect(fake.calls.filter((c) => c.api === 'DescribeRouteTableList')).toHaveLength(2);
  });

  it('not_found when no instance has the address; invalid when several do or it is no IP', async () => {
    await expectKind(cloud.discover('198.51.100.99'), 'not_found');
    fake.addInstance({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIp: '10.1.1.11', publicIp: '198.51.100.10' });
    const e = await expectKind(cloud.discover('198.51.100.10'), 'invalid');
    expect(e.message).toContain('several instances');
    const before = fake.calls.length;
    await expectKind(cloud.discover('not-an-ip'), 'invalid');
    expect(fake.calls.length).toBe(before);
  });
});

describe('routes', () => {
  it('createRoute is one call; the route is Pending, then Available with our instance as next hop', async () => {
    expect(await callsMadeBy(async () => expect(await cloud.createRoute(route(), 'link-1-a')).toBe('created'))).toBe(1);
    expect(await cloud.getRoute(route())).toEqual({ status: 'Pending', instanceId: site.instanceId, nextHop: `Instance:${site.instanceId}` });
    await routeAvailable(route());
    expect(fake.calls.filter((c) => c.api === 'CreateRouteEntry')).toHaveLength(1);
  });

  it('a retry with the same ClientToken resolves created without a second route', async () => {
    await cloud.createRoute(route(), 'link-1-a');
    expect(await cloud.createRoute(route(), 'link-1-a')).toBe('created');
    expect(fake.routeEntries(site.systemTableId)).toHaveLength(1);
  });

  it('an existing route for the destination is a conflict carrying the provider code; getRoute tells whose it is', async () => {
    await cloud.createRoute(route(), 'token-1');
    await routeAvailable(route());
    const ours = await expectKind(cloud.createRoute(route(), 'token-2'), 'conflict', 'InvalidCIDRBlock.Duplicate');
    expect(isDuplicateRouteError(ours)).toBe(true);
    expect((await cloud.getRoute(route()))?.instanceId).toBe(site.instanceId);

    const other = fake.addInstance({ vpcId: site.vpcId, vSwitchId: site.vSwitchId, privateIp: '10.1.1.30' });
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.20.0/24', nextHopId: other.instanceId });
    const theirs = route({ destinationCidr: '192.168.20.0/24' });
    await expectKind(cloud.createRoute(theirs, 'token-3'), 'conflict', 'InvalidCIDRBlock.Duplicate');
    expect(await cloud.getRoute(theirs)).toEqual({ status: 'Available', instanceId: other.instanceId, nextHop: `Instance:${other.instanceId}` });
  });

  it('a destination held by a learned (CEN) route is a conflict too', async () => {
    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.30.0/24', nextHopId: 'tr-x', nextHopType: 'Attachment', type: 'CEN' });
    const e = await expectKind(cloud.createRoute(route({ destinationCidr: '192.168.30.0/24' }), 't'), 'conflict', 'RouteConflict.AlreadyExist');
    expect(isDuplicateRouteError(e)).toBe(true);
  });

  it('busy while the table has a Pending entry or another write in flight; other tables are free', async () => {
    const custom = fake.addRouteTable({ vpcId: site.vpcId });
    await cloud.createRoute(route(), 't1');
    const busy = await expectKind(cloud.createRoute(route({ destinationCidr: '192.168.11.0/24' }), 't2'), 'busy', 'IncorrectRouteEntryStatus');
    expect(busy.retryable).toBe(true);
    expect(await cloud.createRoute(route({ routeTableId: custom.routeTableId, destinationCidr: '192.168.11.0/24' }), 't3')).toBe('created');
    await routeAvailable(route());
    await routeAvailable(route({ routeTableId: custom.routeTableId, destinationCidr: '192.168.11.0/24' }));
    fake.injectFault({ api: 'CreateRouteEntry', latencyMs: 300 });
    const slow = cloud.createRoute(route({ destinationCidr: '192.168.12.0/24' }), 't4');
    await new Promise((r) => setTimeout(r, 50));
    await expectKind(cloud.createRoute(route({ destinationCidr: '192.168.13.0/24' }), 't5'), 'busy', 'OperationFailed.DistibuteLock');
    await slow;
  });

  it('quota, invalid and not_found are permanent errors with the provider code', async () => {
    const small = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, asyncDelayMs: 0, routeQuota: 1 });
    try {
      const s = addGatewaySite(small, 1, {});
      const p = createAliyunProvider(target({ endpoints: { vpc: small.url, ecs: small.url } }));
      await p.createRoute({ routeTableId: s.systemTableId, destinationCidr: '192.168.1.0/24', instanceId: s.instanceId }, 'a');
      const e = await expectKind(p.createRoute({ routeTableId: s.systemTableId, destinationCidr: '192.168.2.0/24', instanceId: s.instanceId }, 'b'), 'quota', 'QuotaExceeded');
      expect(e.retryable).toBe(false);
    } finally {
      await small.stop();
    }
    await expectKind(cloud.createRoute(route({ destinationCidr: '192.168.10.1/33' }), 't'), 'invalid', 'InvalidCidrBlock.Malformed');
    await expectKind(cloud.createRoute(route({ destinationCidr: '10.1.1.0/24' }), 't'), 'invalid', 'InvalidCidrBlock');
    await expectKind(cloud.createRoute(route({ routeTableId: 'vtb-nope' }), 't'), 'not_found', 'InvalidRouteTableId.NotFound');
    await expectKind(cloud.createRoute(route({ instanceId: 'i-nope' }), 't'), 'not_found', 'InvalidNextHopId.NotFound');
    const elsewhere = addGatewaySite(fake, 3, {});
    await expectKind(cloud.createRoute(route({ instanceId: elsewhere.instanceId }), 't'), 'not_found', 'OperationFailed.InstanceDismatchCurrentVpc');
    await expectKind(cloud.getRoute(route({ routeTableId: 'vtb-nope' })), 'not_found', 'InvalidRouteTableId.NotFound');
  });

  it('refuses a ClientToken the API would refuse, without calling it', async () => {
    const before = fake.calls.length;
    await expectKind(cloud.createRoute(route(), 'x'.repeat(65)), 'invalid');
    await expectKind(cloud.createRoute(route(), 'ünicode'), 'invalid');
    expect(fake.calls.length).toBe(before);
  });

  it('deleteRoute: one call, Deleting then gone; then absent; never removes a route pointing elsewhere', async () => {
    await cloud.createRoute(route(), 't');
    await routeAvailable(route());
    expect(await callsMadeBy(async () => expect(await cloud.deleteRoute(route())).toBe('deleted'))).toBe(1);
    expect((await cloud.getRoute(route()))?.status).toBe('Deleting');
    await expectKind(cloud.deleteRoute(route()), 'busy', 'IncorrectRouteEntryStatus');
    await eventually(async () => ((await cloud.getRoute(route())) === undefined ? true : undefined));
    expect(await cloud.deleteRoute(route())).toBe('absent');

    fake.addRouteEntry({ routeTableId: site.systemTableId, destinationCidrBlock: '192.168.40.0/24', nextHopId: 'i-someoneelse' });
    expect(await cloud.deleteRoute(route({ destinationCidr: '192.168.40.0/24' }))).toBe('absent');
    expect(fake.routeEntries(site.systemTableId).map((e) => e.nextHopId)).toEqual(['i-someoneelse']);
    await expectKind(cloud.deleteRoute(route({ routeTableId: 'vtb-nope' })), 'not_found', 'InvalidRouteTableId.NotFound');
  });

  it('getRoute reports a system route as a non-instance next hop (a conflict for the caller)', async () => {
    expect(await cloud.getRoute(route({ destinationCidr: '10.1.1.0/24' }))).toEqual({ status: 'Available', instanceId: undefined, nextHop: 'local' });
    expect(await cloud.getRoute(route({ destinationCidr: '192.168.77.0/24' }))).toBeUndefined();
  });
});

describe('transient failures', () => {
  it('Throttling.User is throttled (with the server-suggested delay when there is one)', async () => {
    fake.setLimits({ perApi: { CreateRouteEntry: { perSecond: 1 } } });
    await cloud.createRoute(route(), 't1');
    const e = await expectKind(cloud.createRoute(route({ routeTableId: fake.addRouteTable({ vpcId: site.vpcId }).routeTableId }), 't2'), 'throttled', 'Throttling.User');
    expect(e.retryAfterMs).toBeUndefined();
    // discover() calls DescribeInstances twice (public IP, then EIP) when nothing has the address.
    const hinting = await AliyunFake.start({ accessKeys: { AK: 'SECRET' }, limits: { default: { perMinute: 2 } }, sendRetryAfter: true });
    try {
      const p = createAliyunProvider(target({ endpoints: { vpc: hinting.url, ecs: hinting.url } }));
      await expectKind(p.discover('198.51.100.10'), 'not_found');
      const t = await expectKind(p.discover('198.51.100.10'), 'throttled', 'Throttling.User');
      expect(t.retryAfterMs).toBeGreaterThan(50_000);
    } finally {
      await hinting.stop();
    }
  });

  it('5xx, timeouts and refused connections are unavailable', async () => {
    fake.injectFault({ api: 'CreateRouteEntry', status: 503 });
    await expectKind(cloud.createRoute(route(), 't'), 'unavailable', 'ServiceUnavailable');
    fake.injectFault({ api: 'DescribeRouteEntryList', status: 500 });
    await expectKind(cloud.getRoute(route()), 'unavailable', 'InternalError');
    fake.injectFault({ api: 'DeleteRouteEntry', latencyMs: 600 });
    const impatient = createAliyunProvider(target(), { readTimeoutMs: 200 });
    await expectKind(impatient.deleteRoute(route()), 'unavailable');
    const nowhere = createAliyunProvider(target({ endpoints: { vpc: 'http://127.0.0.1:1', ecs: 'http://127.0.0.1:1' } }));
    await expectKind(nowhere.getRoute(route()), 'unavailable');
  });
});

describe('security groups and instance preparation', () => {
  const rule = (peerIp = '203.0.113.5') => ({ securityGroupId: site.securityGroupId, peerIp, description: 'ipsec-mesh link-1' });

  it('allowPeer adds UDP 500 and 4500 from the peer in one call, idempotently', async () => {
    expect(await callsMadeBy(() => cloud.allowPeer(rule()))).toBe(1);
    await cloud.allowPeer(rule());
    expect(fake.securityGroupRules(site.securityGroupId).map((r) => [r.ipProtocol, r.portRange, r.sourceCidrIp, r.description])).toEqual([
      ['UDP', '500/500', '203.0.113.5/32', 'ipsec-mesh link-1'],
      ['UDP', '4500/4500', '203.0.113.5/32', 'ipsec-mesh link-1'],
    ]);
  });

  it('revokePeer removes exactly those rules in one call, idempotently, and leaves other peers alone', async () => {
    await cloud.allowPeer(rule());
    await cloud.allowPeer(rule('203.0.113.6'));
    expect(await callsMadeBy(() => cloud.revokePeer(rule()))).toBe(1);
    await cloud.revokePeer(rule());
    expect(fake.securityGroupRules(site.securityGroupId).map((r) => r.sourceCidrIp)).toEqual(['203.0.113.6/32', '203.0.113.6/32']);
  });

  it('errors: unknown group not_found, bad peer invalid (no call)', async () => {
    await expectKind(cloud.allowPeer({ ...rule(), securityGroupId: 'sg-nope' }), 'not_found', 'InvalidSecurityGroupId.NotFound');
    const before = fake.calls.length;
    await expectKind(cloud.allowPeer(rule('peer.example')), 'invalid');
    expect(fake.calls.length).toBe(before);
  });

  // A peer behind an HTTP proxy has no known address (issue 12): its rule admits every source.
  describe('any source (a CIDR as peerIp)', () => {
    const anyV4 = () => ({ ...rule('0.0.0.0/0'), description: 'ipsec-mesh peer 0.0.0.0/0' });
    const anyV6 = () => ({ ...rule('::/0'), description: 'ipsec-mesh peer ::/0' });
    const rules = () =>
      fake.securityGroupRules(site.securityGroupId).map((r) => [r.ipProtocol, r.portRange, r.sourceCidrIp ?? r.ipv6SourceCidrIp, r.description]);

    it('allowPeer with 0.0.0.0/0 adds exactly UDP 500 and 4500 from 0.0.0.0/0 in one call, idempotently', async () => {
      expect(await callsMadeBy(() => cloud.allowPeer(anyV4()))).toBe(1);
      await cloud.allowPeer(anyV4());
      expect(rules()).toEqual([
        ['UDP', '500/500', '0.0.0.0/0', 'ipsec-mesh peer 0.0.0.0/0'],
        ['UDP', '4500/4500', '0.0.0.0/0', 'ipsec-mesh peer 0.0.0.0/0'],
      ]);
    });

    it('revokePeer with 0.0.0.0/0 removes exactly those and leaves a specific peer’s rules alone (and vice versa)', async () => {
      await cloud.allowPeer(rule());
      await cloud.allowPeer(anyV4());
      expect(await callsMadeBy(() => cloud.revokePeer(anyV4()))).toBe(1);
      await cloud.revokePeer(anyV4());
      expect(rules()).toEqual([
        ['UDP', '500/500', '203.0.113.5/32', 'ipsec-mesh link-1'],
        ['UDP', '4500/4500', '203.0.113.5/32', 'ipsec-mesh link-1'],
      ]);
      await cloud.allowPeer(anyV4());
      await cloud.revokePeer(rule());
      expect(rules().map((r) => r[2])).toEqual(['0.0.0.0/0', '0.0.0.0/0']);
    });

    it('::/0 goes through Ipv6SourceCidrIp: added, idempotent, revoked', async () => {
      await cloud.allowPeer(anyV6());
      await cloud.allowPeer(anyV6());
      expect(fake.securityGroupRules(site.securityGroupId).map((r) => [r.portRange, r.ipv6SourceCidrIp, r.sourceCidrIp])).toEqual([
        ['500/500', '::/0', undefined],
        ['4500/4500', '::/0', undefined],
      ]);
      await cloud.revokePeer(anyV6());
      expect(rules()).toEqual([]);
    });

    it('any source and specific peers share one batch call', async () => {
      expect(await callsMadeBy(() => cloud.allowPeers!([rule(), anyV4(), anyV6()]))).toBe(1);
      expect(rules().map((r) => r[2])).toEqual(['203.0.113.5/32', '203.0.113.5/32', '0.0.0.0/0', '0.0.0.0/0', '::/0', '::/0']);
    });

    it('a malformed CIDR or address is invalid, without a call', async () => {
      const before = fake.calls.length;
      for (const peerIp of ['0.0.0.0/33', '10.1.0.5/24', '::/129', '203.0.113.5/', '203.0.113.300', '::ffff:0:0/96']) {
        expect((await expectKind(cloud.allowPeer(rule(peerIp)), 'invalid')).message, peerIp).toContain(peerIp);
        await expectKind(cloud.revokePeer(rule(peerIp)), 'invalid');
        await expectKind(cloud.allowPeers!([rule(), rule(peerIp)]), 'invalid');
      }
      expect(fake.calls.length).toBe(before);
    });
  });

  it('prepareInstance makes no call', async () => {
    expect(await callsMadeBy(() => cloud.prepareInstance(site.instanceId))).toBe(0);
  });
});

describe('credentials and endpoints', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('bad keys are auth errors', async () => {
    const wrongSecret = createAliyunProvider(target({ credentials: { accessKeyId: 'AK', accessKeySecret: 'WRONG' } }));
    await expectKind(wrongSecret.discover('198.51.100.10'), 'auth', 'SignatureDoesNotMatch');
    const unknownKey = createAliyunProvider(target({ credentials: { accessKeyId: 'NOPE', accessKeySecret: 'SECRET' } }));
    const e = await expectKind(unknownKey.createRoute(route(), 't'), 'auth', 'InvalidAccessKeyId.NotFound');
    expect(e.message).not.toContain('SECRET');
    fake.injectFault({ api: 'AuthorizeSecurityGroup', status: 403, code: 'Forbidden.RAM', message: 'User not authorized to operate on the specified resource.' });
    await expectKind(cloud.allowPeer({ securityGroupId: site.securityGroupId, peerIp: '203.0.113.5', description: 'd' }), 'auth', 'Forbidden.RAM');
  });

  it('without explicit keys uses the standard credential chain (environment here)', async () => {
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'AK';
    process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = 'SECRET';
    const fromEnv = createAliyunProvider(target({ credentials: undefined }));
    expect((await fromEnv.discover('198.51.100.10')).instanceId).toBe(site.instanceId);
  });

  it('an empty credential chain is an auth error', async () => {
    delete process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
    delete process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    process.env.HOME = mkdtempSync(join(tmpdir(), 'aliyun-empty-home-'));
    process.env.ALIBABA_CLOUD_ECS_METADATA_DISABLED = 'true';
    process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = 'true';
    const none = createAliyunProvider(target({ credentials: undefined }));
    await expectKind(none.discover('198.51.100.10'), 'auth');
  });

  it('refuses a malformed target at construction', () => {
    expect(() => createAliyunProvider(target({ endpoints: { vpc: 'ftp://x', ecs: fake.url } }))).toThrow(CloudError);
    expect(() => createAliyunProvider(target({ endpoints: { vpc: 'http://h:1/path', ecs: fake.url } }))).toThrow(/without path/);
    expect(() => createAliyunProvider(target({ region: 'Hangzhou' }))).toThrow(/region/);
    expect(() => createAliyunProvider(target({ provider: 'aws' }))).toThrow(/not aliyun/);
  });

  it('a refused endpoint is never echoed (it may carry credentials as user info)', () => {
    for (const vpc of ['http://AKID:hunter2@127.0.0.1:1', 'http://127.0.0.1:1/hunter2', 'ftp://hunter2.example', 'hunter2 host']) {
      let message = '';
      try {
        createAliyunProvider(target({ endpoints: { vpc, ecs: fake.url } }));
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, vpc).toMatch(/aliyun vpc endpoint/);
      expect(message, vpc).not.toContain('hunter2');
    }
  });
});
