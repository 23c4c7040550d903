// Where a site can be reached from, and who dials whom: every combination of where an end's
// address comes from and whether it takes inbound connections.
import { describe, expect, it } from 'vitest';
import { chooseInitiator, reachabilityOf, type EndForChoice, type GatewayReachRow, type Reachability } from '../../activities/reachability';
import { buildPlan } from '../../activities/plan';
import { ANY_PEER, configFor, diffPlans, peerRuleFor } from '../../contracts/link-plan';
import type { Gateway, Link } from '../../generated/prisma/client';
import { decodeGateway, decodeLink, readFacts, type LinkWithEnds } from '../../store';

const facts = (f: Record<string, unknown>): string => JSON.stringify({ agentVersion: '0.1.0', ...f });
const row = (over: Partial<Omit<GatewayReachRow, 'facts'>> & { facts?: string | null }): GatewayReachRow => ({ provider: 'onprem', publicIp: null, inbound: null, observedIp: null, ...over, facts: readFacts(over.facts ?? null) });

describe('reachabilityOf', () => {
  it('the operator\'s address wins, for on-prem (operator) and cloud (cloud) gateways', () => {
    expect(reachabilityOf(row({ publicIp: '198.51.100.1', observedIp: '203.0.113.9', facts: facts({ publicIp: '203.0.113.8', localAddrs: ['10.0.0.2'] }) }))).toMatchObject({ address: '198.51.100.1', source: 'operator', inbound: 'unknown' });
    expect(reachabilityOf(row({ provider: 'aliyun', publicIp: '47.96.1.2' }))).toMatchObject({ address: '47.96.1.2', source: 'cloud', inbound: 'yes' });
    expect(reachabilityOf(row({ publicIp: '198.51.100.1', facts: facts({ localAddrs: ['198.51.100.1'] }) }))).toMatchObject({ inbound: 'yes' });
  });

  it('the operator\'s inbound statement wins over what the address suggests', () => {
    expect(reachabilityOf(row({ publicIp: '198.51.100.1', inbound: false, facts: facts({ localAddrs: ['198.51.100.1'] }) })).inbound).toBe('no');
    expect(reachabilityOf(row({ observedIp: '203.0.113.5', inbound: true, facts: facts({ localAddrs: ['10.0.0.2'], connection: { via: 'direct' } }) })).inbound).toBe('yes');
    expect(reachabilityOf(row({ provider: 'aws', publicIp: '54.1.2.3', inbound: false })).inbound).toBe('no');
  });

  it('an address the agent reports comes next, then the one the hub saw on a direct connection', () => {
    expect(reachabilityOf(row({ observedIp: '203.0.113.5', facts: facts({ publicIp: '203.0.113.7', localAddrs: ['10.0.0.2'] }) }))).toMatchObject({ address: '203.0.113.7', source: 'observed', inbound: 'unknown' });
    expect(reachabilityOf(row({ observedIp: '198.51.100.4', facts: facts({ localAddrs: ['198.51.100.4'], connection: { via: 'direct' } }) }))).toEqual({ address: '198.51.100.4', source: 'observed', inbound: 'yes', via: 'direct', behindNat: false });
    expect(reachabilityOf(row({ observedIp: '203.0.113.5', facts: facts({ localAddrs: ['172.31.1.10'], connection: { via: 'direct' } }) }))).toEqual({ address: '203.0.113.5', source: 'observed', inbound: 'unknown', via: 'direct', behindNat: true });
  });

  it('never takes a proxy for the site', () => {
    expect(reachabilityOf(row({ observedIp: '198.51.100.250', facts: facts({ localAddrs: ['10.0.0.2'], connection: { via: 'proxy', proxy: '198.51.100.250:8888' } }) }))).toEqual({ address: null, source: 'unknown', inbound: 'unknown', via: 'proxy', proxy: '198.51.100.250:8888' });
    // With an address the operator gave, the proxy does not matter for where peers dial.
    expect(reachabilityOf(row({ publicIp: '198.51.100.9', observedIp: '198.51.100.250', facts: facts({ localAddrs: [], connection: { via: 'proxy', proxy: 'p:3128' } }) }))).toMatchObject({ address: '198.51.100.9', source: 'operator', via: 'proxy' });
  });

  it('a gateway that never connected has no address yet; an agent from before says nothing of its path', () => {
    expect(reachabilityOf(row({}))).toEqual({ address: null, source: 'unknown', inbound: 'unknown' });
    expect(reachabilityOf(row({ observedIp: '203.0.113.5', facts: facts({ localAddrs: ['10.0.0.2'] }) }))).toMatchObject({ address: '203.0.113.5', source: 'observed', behindNat: true });
  });
});

describe('chooseInitiator, for every combination of address source and inbound reachability', () => {
  type Kind = 'operator' | 'cloud' | 'observed' | 'proxy' | 'never-connected';
  const reach = (kind: Kind, inbound: 'yes' | 'no' | 'unknown'): Reachability => {
    switch (kind) {
      case 'operator':
        return { address: '198.51.100.1', source: 'operator', inbound };
      case 'cloud':
        return { address: '47.96.1.2', source: 'cloud', inbound };
      case 'observed':
        return { address: '203.0.113.5', source: 'observed', inbound, via: 'direct', behindNat: inbound !== 'yes' };
      case 'proxy':
        return { address: null, source: 'unknown', inbound, via: 'proxy', proxy: '198.51.100.250:8888' };
      case 'never-connected':
        return { address: null, source: 'unknown', inbound };
    }
  };
  const kinds: Kind[] = ['operator', 'cloud', 'observed', 'proxy', 'never-connected'];
  const inbounds = ['yes', 'no', 'unknown'] as const;
  const end = (name: string, kind: Kind, inbound: (typeof inbounds)[number]): EndForChoice => ({ name, provider: kind === 'cloud' ? 'aliyun' : 'onprem', reach: reach(kind, inbound) });
  const cannot = (kind: Kind, inbound: string) => inbound === 'no' || kind === 'proxy';

  const cases = kinds.flatMap((ka) => inbounds.flatMap((ia) => kinds.flatMap((kb) => inbounds.map((ib) => [ka, ia, kb, ib] as const))));

  it.each(cases)('a: %s/%s, b: %s/%s', (ka, ia, kb, ib) => {
    const choice = chooseInitiator(end('site-a', ka, ia), end('site-b', kb, ib));
    if (cannot(ka, ia) && cannot(kb, ib)) {
      expect(choice).toEqual({ refused: expect.stringMatching(/neither end can be reached.*site-a.*site-b.*publicIp/) as string });
      return;
    }
    if (!('initiator' in choice)) throw new Error(`refused: ${choice.refused}`);
    // The end that cannot be reached dials; otherwise a data center dials the cloud; otherwise a.
    const expected = cannot(kb, ib) ? 'b' : cannot(ka, ia) ? 'a' : ka === 'cloud' && kb !== 'cloud' ? 'b' : 'a';
    expect(choice.initiator).toBe(expected);
    expect(choice.why).toMatch(new RegExp(`^site-${expected} initiates: `));
    if (cannot(expected === 'a' ? ka : kb, expected === 'a' ? ia : ib)) expect(choice.why).toMatch(/proxy|inbound: false/);
  });

  it('has one case per combination', () => {
    expect(cases).toHaveLength(kinds.length ** 2 * inbounds.length ** 2);
  });
});

describe('what the plan makes of it', () => {
  const gw = (over: Partial<Gateway>): Gateway => ({
    id: 'gwx', name: 'x', provider: 'onprem', cidrs: '["10.1.0.0/24"]', publicIp: null, inbound: null, secretHash: '', online: true, lastSeenAt: new Date(), observedIp: null, facts: null, hubInstance: 'h',
    state: 'ready', stateReason: null, createdAt: new Date(), updatedAt: new Date(), accountId: null, region: null, routeTablesWanted: null, instanceId: null, privateIp: null, vpcId: null, subnetId: null,
    routeTableIds: null, securityGroupIds: null, discovered: null, discoveredAt: null, ...over,
  });
  const link = (a: Gateway, b: Gateway): LinkWithEnds => ({
    ...decodeLink({
      id: 'lnx', aId: a.id, bId: b.id, activePairKey: null, state: 'up', stateReason: null, aCidrs: a.cidrs, bCidrs: b.cidrs, pskCiphertext: '', workflowId: 'link-lnx', keyVersion: 1, keyRotatedAt: new Date(),
      aTunnelUp: false, bTunnelUp: false, createdAt: new Date(), updatedAt: new Date(), deletedAt: null, deleteRequestedAt: null,
    } satisfies Link),
    a: decodeGateway(a),
    b: decodeGateway(b),
  });
  const proxySite = gw({ id: 'gwp', name: 'dc-proxy', cidrs: '["10.2.0.0/24"]', observedIp: '198.51.100.250', facts: facts({ localAddrs: ['198.51.100.20'], connection: { via: 'proxy', proxy: '198.51.100.250:8888' } }) });
  const publicSite = gw({ id: 'gwq', name: 'dc-public', cidrs: '["10.3.0.0/24"]', observedIp: '198.51.100.30', facts: facts({ localAddrs: ['198.51.100.30'], connection: { via: 'direct' } }) });
  const cloudSite = gw({
    id: 'gwc', name: 'vpc', provider: 'aliyun', cidrs: '["10.4.0.0/16"]', publicIp: '47.96.1.2', accountId: 'ac1', region: 'cn-hangzhou', instanceId: 'i-1', routeTableIds: '["vtb-1"]', securityGroupIds: '["sg-1"]',
  });

  it('a proxy site dials; its peer accepts it from any address; a cloud peer lets IKE in from anywhere', () => {
    const toPublic = buildPlan(link(publicSite, proxySite));
    expect(toPublic.initiator).toBe('b');
    expect(toPublic.initiatorWhy).toMatch(/dc-proxy initiates: .*proxy \(198\.51\.100\.250:8888\)/);
    expect(toPublic.b.endpoint).toBeUndefined();
    expect(configFor(toPublic, 'a', 1).remoteAddrs).toEqual(['%any']);
    expect(configFor(toPublic, 'b', 1).remoteAddrs).toEqual(['198.51.100.30']);
    const toCloud = buildPlan(link(cloudSite, proxySite));
    expect(toCloud.initiator).toBe('b');
    expect(peerRuleFor(toCloud, 'a')).toMatchObject({ securityGroupId: 'sg-1', peerIp: ANY_PEER });
  });

  it('a responder pins an initiator whose address the operator gave, not one it observed', () => {
    const pinned = buildPlan(link(gw({ id: 'g1', name: 'one', publicIp: '198.51.100.11' }), publicSite));
    expect(pinned.initiator).toBe('a');
    expect(configFor(pinned, 'b', 1).remoteAddrs).toEqual(['198.51.100.11']);
    const observed = buildPlan(link(publicSite, gw({ id: 'g2', name: 'two', observedIp: '203.0.113.2', facts: facts({ localAddrs: ['203.0.113.2'], connection: { via: 'direct' } }) })));
    expect(configFor(observed, 'b', 1).remoteAddrs).toEqual(['%any']);
  });

  it('two sites nobody can reach: refused, with what to set', () => {
    const natSite = gw({ id: 'gwn', name: 'dc-nat', cidrs: '["10.5.0.0/24"]', inbound: false, observedIp: '203.0.113.50', facts: facts({ localAddrs: ['172.31.1.10'], connection: { via: 'direct' } }) });
    const plan = buildPlan(link(natSite, proxySite));
    expect(plan.refused).toMatch(/neither end can be reached: dc-nat accepts no inbound connections \(inbound: false\), and dc-proxy reaches the controller through a proxy/);
    expect(buildPlan(link(natSite, publicSite))).toMatchObject({ initiator: 'a', initiatorWhy: expect.stringMatching(/^dc-nat initiates: dc-nat accepts no inbound/) as string });
  });

  it('an initiator that moved dials again even when no config changes', () => {
    const before = buildPlan(link(publicSite, proxySite));
    const moved = buildPlan(link({ ...publicSite }, { ...proxySite, publicIp: null }));
    expect(diffPlans(before, moved).none).toBe(true);
    const natBefore = gw({ id: 'gwn', name: 'dc-nat', inbound: false, observedIp: '203.0.113.50', facts: facts({ localAddrs: ['172.31.1.10'], connection: { via: 'direct' } }) });
    const natAfter = { ...natBefore, observedIp: '203.0.113.51' };
    const change = diffPlans(buildPlan(link(publicSite, natBefore)), buildPlan(link(publicSite, natAfter)));
    expect(change).toMatchObject({ initiatorMoved: true, none: false, endpoints: true });
    expect(change.a.config || change.b.config).toBe(false);
  });
});
