// Failure: the clouds throttle 30 % of all API calls. No operation may fail because of it: every
// gateway is discovered, every link comes up with its routes, and every delete removes them.
//
// How: both emulators sit behind a throttling proxy (throttle-proxy.ts) that answers a seeded 30 %
// of requests with the provider's own throttling error (Alibaba Throttling.User, EC2
// RequestLimitExceeded) and forwards the rest. The cloud accounts point at the proxies, so every
// call a link makes (security-group rules, route writes, route polls, and their deletes) runs the
// gauntlet. Eight links: four between Alibaba VPCs and four between Alibaba and AWS VPCs.
//
// Gateway discovery is throttled too: its reads are retried in place (cloud/read-retry.ts), so a
// throttled read does not start the whole discovery over.
import { beforeAll, describe, expect, it } from 'vitest';
import { DescribeRouteTablesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { ALIYUN_AK, ALIYUN_SECRET } from '../helpers/clouds';
import { missing, withStack } from '../helpers/with-stack';
import { addGatewaySite, type GatewaySite } from '../fakes/aliyun';
import { MOTO_REGION, motoEc2Client, seedAwsSite, type SeededSite } from '../helpers/moto';
import type { CloudAccountBody, GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { startThrottleProxy, type ThrottleProxy } from './throttle-proxy';

// The cloud accounts point at the throttling proxies, not at the emulators: registered below.
const needs = { controller: true, clouds: true, accounts: false, agents: true, name: 'fail-thr' } as const;

const RATIO = 0.3;
const PAIRS_ALI_ALI = 4;
const PAIRS_ALI_AWS = 4;

/** One end of a link as the test sees it in its emulator. */
type Site = { kind: 'aliyun'; ip: string; site: GatewaySite; cidrs: string[] } | { kind: 'aws'; ip: string; site: SeededSite; cidrs: string[] };

describe.skipIf(missing(needs, 'throttling failure test'))('clouds throttling 30 % of calls: zero failed operations', () => {
  const stack = withStack(needs);
  let aliProxy: ThrottleProxy;
  let awsProxy: ThrottleProxy;
  let accounts: { aliyun: string; aws: string };

  beforeAll(async () => {
    [aliProxy, awsProxy] = (
      await Promise.all([
        startThrottleProxy({ target: stack.clouds.aliyun.url, dialect: 'aliyun', ratio: 0, seed: 0x5eed01 }),
        startThrottleProxy({ target: stack.clouds.moto.endpoint, dialect: 'ec2', ratio: 0, seed: 0x5eed02 }),
      ])
    ).map((proxy) => stack.track(proxy)) as [ThrottleProxy, ThrottleProxy];
    const a = await stack.api<CloudAccountBody>('POST', '/api/cloud-accounts', {
      name: 'aliyun-throttled',
      provider: 'aliyun',
      credentials: { accessKeyId: ALIYUN_AK, accessKeySecret: ALIYUN_SECRET },
      endpoints: { vpc: aliProxy.url, ecs: aliProxy.url },
    });
    const w = await stack.api<CloudAccountBody>('POST', '/api/cloud-accounts', {
      name: 'aws-throttled',
      provider: 'aws',
      credentials: { accessKeyId: 'AKIAMOTOTEST', accessKeySecret: 'moto-secret' },
      endpoints: { ec2: awsProxy.url },
    });
    expect([a.status, w.status]).toEqual([201, 201]);
    accounts = { aliyun: a.body.id, aws: w.body.id };
  });

  const gatewayOf = async (id: string) => (await stack.api<GatewayBody>('GET', `/api/gateways/${id}`)).body;
  const linkOf = async (id: string) => (await stack.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;

  /** Polls until every id satisfies `done`, remembering every state seen on the way. */
  async function waitAll<T extends { state: string }>(ids: string[], get: (id: string) => Promise<T>, done: (x: T) => boolean, seen: Set<string>, timeoutMs: number): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await Promise.all(ids.map(get));
      for (const x of all) seen.add(x.state);
      if (all.every(done)) return all;
      if (Date.now() > deadline) throw new Error(`not settled within ${timeoutMs} ms: ${JSON.stringify(all.map((x) => x.state))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it(`discovers, links and unlinks ${PAIRS_ALI_ALI + PAIRS_ALI_AWS} cloud links while ${RATIO * 100} % of calls are throttled`, async () => {
    // Sites: Alibaba VPCs 10.1n0.0.0/16 (+172.x secondary) in the fake, AWS VPCs seeded in moto directly.
    const sites: Site[] = [];
    const ali = (n: number, ip: string): Site => ({ kind: 'aliyun', ip, site: addGatewaySite(stack.clouds.aliyun, n, { eip: ip }), cidrs: [`10.${n}.0.0/16`, `172.${16 + n}.0.0/16`] });
    const pairs: Array<[Site, Site]> = [];
    for (let i = 0; i < PAIRS_ALI_ALI; i++) pairs.push([ali(130 + 2 * i, `198.51.100.${130 + 2 * i}`), ali(131 + 2 * i, `198.51.100.${131 + 2 * i}`)]);
    for (let i = 0; i < PAIRS_ALI_AWS; i++) {
      const awsIp = `203.0.113.${140 + i}`;
      const aws = await seedAwsSite(stack.clouds.moto.endpoint, { cidr: `10.${150 + i}.0.0/16`, secondaryCidr: `10.${160 + i}.0.0/16`, publicIp: awsIp, name: `thr${i}` });
      pairs.push([ali(140 + i, `198.51.100.${140 + i}`), { kind: 'aws', ip: awsIp, site: aws, cidrs: aws.vpcCidrs }]);
    }
    for (const p of pairs) sites.push(...p);

    // 30 % of all calls to either cloud are throttled from here on, discovery included.
    for (const p of [aliProxy, awsProxy]) {
      p.resetCounts();
      p.setRatio(RATIO);
    }
    const gws = new Map<Site, RegisteredGatewayBody>();
    for (const s of sites) {
      const r = await stack.api<RegisteredGatewayBody>('POST', '/api/gateways', {
        name: `thr-${s.ip}`,
        provider: s.kind,
        region: s.kind === 'aws' ? MOTO_REGION : 'cn-hangzhou',
        publicIp: s.ip,
        account: accounts[s.kind],
      });
      expect(r.status).toBe(201);
      gws.set(s, r.body);
    }
    const gwStates = new Set<string>();
    const discovered = await waitAll([...gws.values()].map((g) => g.id), gatewayOf, (g) => g.state !== 'discovering', gwStates, 60_000);
    expect(discovered.filter((g) => g.state !== 'ready').map((g) => `${g.id}: ${g.state} ${g.stateReason}`)).toEqual([]);
    // Discovery itself was throttled, on both clouds, and still every gateway is ready.
    expect((aliProxy.throttled.get('DescribeInstances') ?? 0) + (aliProxy.throttled.get('DescribeVpcs') ?? 0) + (aliProxy.throttled.get('DescribeRouteTableList') ?? 0)).toBeGreaterThan(0);
    expect((awsProxy.throttled.get('DescribeInstances') ?? 0) + (awsProxy.throttled.get('DescribeVpcs') ?? 0) + (awsProxy.throttled.get('DescribeRouteTables') ?? 0)).toBeGreaterThan(0);
    for (const site of sites) await stack.agent(gws.get(site)!, site.ip, {}, { waitOnline: false });
    await expect.poll(async () => (await Promise.all(sites.map(async (s) => await gatewayOf(gws.get(s)!.id)))).every((g) => g.online), { timeout: 15_000 }).toBe(true);

    // Count the link phase on its own.
    for (const p of [aliProxy, awsProxy]) p.resetCounts();

    // Route writes go out one by one, or batched (CreateRouteEntries) when they queue behind a busy table.
    const count = (p: ThrottleProxy, ...actions: string[]) => actions.reduce((n, a) => n + (p.throttled.get(a) ?? 0), 0);

    // Create every link at once.
    const linkIds: string[] = [];
    for (const [x, y] of pairs) {
      const r = await stack.api<LinkBody>('POST', '/api/links', { a: gws.get(x)!.id, b: gws.get(y)!.id });
      expect(r.status).toBe(202);
      linkIds.push(r.body.id);
    }
    const linkStates = new Set<string>();
    const t0 = Date.now();
    await waitAll(linkIds, linkOf, (l) => l.state === 'up' || l.state === 'failed', linkStates, 120_000);
    const up = await Promise.all(linkIds.map(linkOf));
    expect(up.filter((l) => l.state !== 'up').map((l) => `${l.id}: ${l.state} ${l.stateReason}`)).toEqual([]);
    console.log(`[throttling] ${linkIds.length} links up in ${Date.now() - t0} ms; states seen: ${[...linkStates].join(', ')}`);
    expect(linkStates.has('failed')).toBe(false);

    // Every route is in place, once, pointing at the right instance.
    const ec2 = motoEc2Client(stack.clouds.moto.endpoint, MOTO_REGION);
    const routesOf = async (s: Site): Promise<string[]> => {
      if (s.kind === 'aliyun') {
        return stack.clouds.aliyun.routeEntries(s.site.systemTableId).filter((e) => e.nextHopId === s.site.instanceId).map((e) => `${s.site.systemTableId}:${e.destinationCidrBlock}:${e.status}`);
      }
      const tables = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [s.site.mainRouteTableId, s.site.routeTableId] }))).RouteTables!;
      return tables.flatMap((t) => t.Routes!.filter((x) => x.InstanceId === s.site.instanceId).map((x) => `${t.RouteTableId}:${x.DestinationCidrBlock}:${x.State}`));
    };
    for (const [x, y] of pairs) {
      for (const [me, peer] of [[x, y], [y, x]] as const) {
        const tables = me.kind === 'aliyun' ? [me.site.systemTableId] : [me.site.mainRouteTableId, me.site.routeTableId];
        const state = me.kind === 'aliyun' ? 'Available' : 'active';
        const want = tables.flatMap((t) => peer.cidrs.map((c) => `${t}:${c}:${state}`)).sort();
        expect((await routesOf(me)).sort()).toEqual(want);
      }
    }

    // What was throttled while the links were created (the rest of the totals is the deletes).
    const createPhase = { aliyun: aliProxy.totals().throttled, aws: awsProxy.totals().throttled };
    const createRoutesThrottled = count(aliProxy, 'CreateRouteEntry', 'CreateRouteEntries') + count(awsProxy, 'CreateRoute');

    // Delete every link at once.
    for (const id of linkIds) expect((await stack.api('DELETE', `/api/links/${id}`)).status).toBe(202);
    const delStates = new Set<string>();
    await waitAll(linkIds, linkOf, (l) => l.state === 'deleted' || l.state === 'failed', delStates, 120_000);
    const gone = await Promise.all(linkIds.map(linkOf));
    expect(gone.filter((l) => l.state !== 'deleted').map((l) => `${l.id}: ${l.state} ${l.stateReason}`)).toEqual([]);
    for (const l of gone) expect(l.events.map((e) => e.type)).not.toContain('link.failed');
    for (const s of sites) expect(await routesOf(s)).toEqual([]);
    // Security-group rules for the peers are gone too.
    for (const [x, y] of pairs) {
      for (const [me, peer] of [[x, y], [y, x]] as const) {
        if (me.kind === 'aliyun') {
          expect(stack.clouds.aliyun.securityGroupRules(me.site.securityGroupId).filter((r) => r.sourceCidrIp?.startsWith(peer.ip))).toEqual([]);
        } else {
          const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [me.site.securityGroupId] }))).SecurityGroups![0]!;
          expect(sg.IpPermissions!.filter((p) => p.IpRanges?.some((r) => r.CidrIp === `${peer.ip}/32`))).toEqual([]);
        }
      }
    }
    ec2.destroy();

    // The throttling really happened, on both clouds and on the calls that matter.
    const aliT = aliProxy.totals();
    const awsT = awsProxy.totals();
    const share = (t: { throttled: number; forwarded: number }) => t.throttled / (t.throttled + t.forwarded);
    console.log(
      `[throttling] aliyun: ${aliT.throttled} of ${aliT.throttled + aliT.forwarded} calls throttled (${(share(aliT) * 100).toFixed(1)} %), ` +
        `aws: ${awsT.throttled} of ${awsT.throttled + awsT.forwarded} (${(share(awsT) * 100).toFixed(1)} %); ` +
        `throttled per action: ${JSON.stringify({ aliyun: Object.fromEntries(aliProxy.throttled), aws: Object.fromEntries(awsProxy.throttled) })}`,
    );
    // Every phase was throttled, on both clouds, route writes included (how many of each kind
    // depends on how calls interleave; these sums are far from zero at 30 %).
    expect(createPhase.aliyun).toBeGreaterThan(0);
    expect(createPhase.aws).toBeGreaterThan(0);
    expect(aliT.throttled - createPhase.aliyun + awsT.throttled - createPhase.aws).toBeGreaterThan(0);
    expect(createRoutesThrottled).toBeGreaterThan(0);
    expect(share(aliT)).toBeGreaterThan(0.15);
    expect(share(aliT)).toBeLessThan(0.45);
  }, 300_000);
});
