// The pure plan functions the link workflow applies and the API previews: what each agent is told,
// which routes and peer rule each cloud end needs, the ids the serialising workflows dedupe by,
// and what a change between two plans is (and how it reads).
import { describe, expect, it } from 'vitest';
import {
  ANY_PEER,
  allowRequestId,
  configFor,
  createRequestId,
  describeChange,
  diffPlans,
  other,
  peerOf,
  peerRuleFor,
  routeKey,
  routesFor,
  ruleDescription,
  type LinkPlan,
  type LinkSide,
} from '../../contracts/link-plan';

const ref = { provider: 'aliyun' as const, accountId: 'ac1', region: 'cn-hangzhou' };

/** A data-center end at a fixed public address. */
const dc = (over: Partial<LinkSide> = {}): LinkSide => ({
  gatewayId: 'gw-dc',
  gatewayName: 'dc',
  endpoint: '198.51.100.10',
  pinEndpoint: true,
  cidrs: ['10.1.0.0/24'],
  identity: 'gw-gw-dc',
  ...over,
});

/** A cloud end: one instance, two route tables, one security group. */
const vpc = (over: Partial<LinkSide> = {}, cloud: Partial<NonNullable<LinkSide['cloud']>> = {}): LinkSide => ({
  gatewayId: 'gw-vpc',
  gatewayName: 'vpc',
  endpoint: '203.0.113.20',
  pinEndpoint: true,
  cidrs: ['10.2.0.0/16'],
  identity: 'gw-gw-vpc',
  cloud: { ref, instanceId: 'i-1', routeTableIds: ['vtb-1', 'vtb-2'], securityGroupIds: ['sg-1', 'sg-2'], ...cloud },
  ...over,
});

const plan = (over: Partial<LinkPlan> = {}): LinkPlan => ({ linkId: 'lk1', name: 'link-lk1', state: 'up', a: dc(), b: vpc(), initiator: 'a', ...over });

describe('sides', () => {
  it('other and peerOf name the opposite end', () => {
    const p = plan();
    expect(other('a')).toBe('b');
    expect(other('b')).toBe('a');
    expect(peerOf(p, 'a')).toBe(p.b);
    expect(peerOf(p, 'b')).toBe(p.a);
  });
});

describe('configFor', () => {
  it('gives each end its own identity, selectors and role, the version asked for and %any as local address', () => {
    const p = plan();
    expect(configFor(p, 'a', 7)).toEqual({
      name: 'link-lk1',
      version: 7,
      localId: 'gw-gw-dc',
      remoteId: 'gw-gw-vpc',
      localAddrs: ['%any'],
      remoteAddrs: ['203.0.113.20'],
      localTs: ['10.1.0.0/24'],
      remoteTs: ['10.2.0.0/16'],
      initiator: true,
    });
    expect(configFor(p, 'b', 7)).toMatchObject({ localId: 'gw-gw-vpc', remoteId: 'gw-gw-dc', localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/24'], initiator: false, remoteAddrs: ['198.51.100.10'] });
  });

  it('never carries the pre-shared key', () => {
    expect(Object.keys(configFor(plan({ keyVersion: 3 }), 'a', 1))).not.toContain('psk');
  });

  it('a responder accepts an initiator whose address can change from anywhere; an initiator always dials the address it knows', () => {
    const moving = plan({ a: dc({ pinEndpoint: false }) });
    expect(configFor(moving, 'b', 1).remoteAddrs).toEqual(['%any']);
    // The initiator's view of a responder that may move: it still dials the responder's address.
    const movingResponder = plan({ b: vpc({ pinEndpoint: false }) });
    expect(configFor(movingResponder, 'a', 1).remoteAddrs).toEqual(['203.0.113.20']);
    // Plans from before pinEndpoint existed pin the peer.
    const { pinEndpoint: _drop, ...legacy } = dc();
    expect(configFor(plan({ a: legacy }), 'b', 1).remoteAddrs).toEqual(['198.51.100.10']);
  });

  it('an end with no known address is %any', () => {
    expect(configFor(plan({ b: vpc({ endpoint: undefined }) }), 'a', 1).remoteAddrs).toEqual(['%any']);
  });
});

describe('routesFor', () => {
  it('every peer CIDR in every route table of a cloud end, to its instance', () => {
    const p = plan({ a: dc({ cidrs: ['10.1.0.0/24', '10.9.0.0/24'] }) });
    expect(routesFor(p, 'b')).toEqual([
      { routeTableId: 'vtb-1', destinationCidr: '10.1.0.0/24', instanceId: 'i-1' },
      { routeTableId: 'vtb-1', destinationCidr: '10.9.0.0/24', instanceId: 'i-1' },
      { routeTableId: 'vtb-2', destinationCidr: '10.1.0.0/24', instanceId: 'i-1' },
      { routeTableId: 'vtb-2', destinationCidr: '10.9.0.0/24', instanceId: 'i-1' },
    ]);
  });

  it('none for an on-prem end or a cloud end with no route table chosen', () => {
    expect(routesFor(plan(), 'a')).toEqual([]);
    expect(routesFor(plan({ b: vpc({}, { routeTableIds: [] }) }), 'b')).toEqual([]);
  });

  it('routeKey tells routes apart by table, destination and next hop', () => {
    const r = { routeTableId: 'vtb-1', destinationCidr: '10.1.0.0/24', instanceId: 'i-1' };
    expect(routeKey(r)).toBe('vtb-1|10.1.0.0/24|i-1');
    expect(new Set([r, { ...r }, { ...r, instanceId: 'i-2' }, { ...r, routeTableId: 'vtb-2' }].map(routeKey)).size).toBe(3);
  });
});

describe('peerRuleFor', () => {
  it('lets the peer\'s address into the first security group of a cloud end, marked as ours', () => {
    expect(peerRuleFor(plan(), 'b')).toEqual({ securityGroupId: 'sg-1', peerIp: '198.51.100.10', description: ruleDescription('198.51.100.10') });
    expect(ruleDescription('198.51.100.10')).toBe('ipsec-mesh peer 198.51.100.10');
  });

  it('none for an on-prem end, a cloud end without security group, or a peer with no address that does not initiate', () => {
    expect(peerRuleFor(plan(), 'a')).toBeUndefined();
    expect(peerRuleFor(plan({ b: vpc({}, { securityGroupIds: [] }) }), 'b')).toBeUndefined();
    // The peer has no address but the cloud end initiates: nothing needs to come in.
    expect(peerRuleFor(plan({ a: dc({ endpoint: undefined, unreachable: 'behind a proxy' }), initiator: 'b' }), 'b')).toBeUndefined();
    // The peer initiates but its address is simply not known yet (never connected): no rule yet.
    expect(peerRuleFor(plan({ a: dc({ endpoint: undefined }) }), 'b')).toBeUndefined();
  });

  it('an initiator that cannot be reached and has no address (behind a proxy) is let in from anywhere', () => {
    const p = plan({ a: dc({ endpoint: undefined, unreachable: 'reaches the controller through a proxy' }) });
    expect(peerRuleFor(p, 'b')).toEqual({ securityGroupId: 'sg-1', peerIp: ANY_PEER, description: ruleDescription(ANY_PEER) });
  });
});

describe('request ids', () => {
  it('one per intent: a claim\'s create, a gateway\'s allow of one peer address', () => {
    expect(createRequestId('lk1', 42)).toBe('lk1:42:create');
    expect(allowRequestId('lk1', 'gw-vpc', '198.51.100.10')).toBe('lk1:gw-vpc:allow:198.51.100.10');
    const ids = [createRequestId('lk1', 1), createRequestId('lk1', 2), createRequestId('lk2', 1), allowRequestId('lk1', 'gw-vpc', '198.51.100.10'), allowRequestId('lk1', 'gw-vpc', '198.51.100.11'), allowRequestId('lk1', 'gw-dc', '198.51.100.10')];
    expect(new Set(ids).size).toBe(ids.length);
    // Asked again for the same intent, the same id (the serialising workflow answers it once).
    expect(createRequestId('lk1', 1)).toBe(ids[0]);
  });
});

describe('diffPlans', () => {
  const quiet = { config: false, routesAdded: [], routesRemoved: [] };

  it('the same plan, or the same CIDRs in another order, is no change', () => {
    expect(diffPlans(plan(), plan())).toEqual({ a: quiet, b: quiet, cidrs: false, endpoints: false, key: false, initiatorMoved: false, none: true });
    const two = plan({ a: dc({ cidrs: ['10.1.0.0/24', '10.9.0.0/24'] }) });
    const swapped = plan({ a: dc({ cidrs: ['10.9.0.0/24', '10.1.0.0/24'] }) });
    expect(diffPlans(two, swapped)).toMatchObject({ none: true, cidrs: false });
    // Fields the agent's config does not depend on (state, queue) are no change either.
    expect(diffPlans(plan(), plan({ state: 'updating', a: dc({ queue: 'q.hub.x' }) })).none).toBe(true);
  });

  it('a CIDR change: both configs, and the cloud end\'s routes for what was added and removed', () => {
    const change = diffPlans(plan(), plan({ a: dc({ cidrs: ['10.1.0.0/24', '10.9.0.0/24'] }) }));
    expect(change).toMatchObject({ cidrs: true, endpoints: false, key: false, initiatorMoved: false, none: false });
    expect(change.a).toEqual({ ...quiet, config: true });
    expect(change.b.config).toBe(true);
    expect(change.b.routesAdded).toEqual([
      { routeTableId: 'vtb-1', destinationCidr: '10.9.0.0/24', instanceId: 'i-1' },
      { routeTableId: 'vtb-2', destinationCidr: '10.9.0.0/24', instanceId: 'i-1' },
    ]);
    expect(change.b.routesRemoved).toEqual([]);
    const back = diffPlans(plan({ a: dc({ cidrs: ['10.1.0.0/24', '10.9.0.0/24'] }) }), plan());
    expect(back.b.routesRemoved.map((r) => r.destinationCidr)).toEqual(['10.9.0.0/24', '10.9.0.0/24']);
    expect(back.b.routesAdded).toEqual([]);
  });

  it('a narrowed cloud CIDR changes only the configs: the on-prem end has no routes', () => {
    const change = diffPlans(plan(), plan({ b: vpc({ cidrs: ['10.2.0.0/24'] }) }));
    expect(change).toMatchObject({ cidrs: true, none: false, a: { config: true, routesAdded: [], routesRemoved: [] }, b: { config: true, routesAdded: [], routesRemoved: [] } });
  });

  it('a peer at a new address: the responder\'s config and the cloud end\'s rule move, the old rule goes', () => {
    const moved = plan({ a: dc({ endpoint: '198.51.100.99' }) });
    const change = diffPlans(plan(), moved);
    expect(change).toMatchObject({ endpoints: true, cidrs: false, key: false, initiatorMoved: true, none: false });
    expect(change.b).toMatchObject({ config: true, ruleAdded: { securityGroupId: 'sg-1', peerIp: '198.51.100.99' }, ruleRemoved: { securityGroupId: 'sg-1', peerIp: '198.51.100.10' } });
    // The initiator's own config does not mention its own address.
    expect(change.a).toEqual(quiet);
  });

  it('a responder at a new address: the initiator dials the new one; no rule on an on-prem end', () => {
    const change = diffPlans(plan(), plan({ b: vpc({ endpoint: '203.0.113.21' }) }));
    expect(change).toMatchObject({ endpoints: true, initiatorMoved: false, none: false, a: { config: true }, b: { config: false } });
    expect(change.a.ruleAdded).toBeUndefined();
    expect(change.b.ruleAdded).toBeUndefined();
  });

  it('an initiator that moved while the responder accepts it from anywhere: nothing to push, but not "none"', () => {
    const from = plan({ a: dc({ pinEndpoint: false }), b: vpc({}, { securityGroupIds: [] }) });
    const to = plan({ a: dc({ pinEndpoint: false, endpoint: '198.51.100.77' }), b: vpc({}, { securityGroupIds: [] }) });
    const change = diffPlans(from, to);
    expect(change.a.config || change.b.config).toBe(false);
    expect(change).toMatchObject({ initiatorMoved: true, endpoints: true, none: false });
  });

  it('a rotated key changes both configs and nothing else', () => {
    const change = diffPlans(plan(), plan({ keyVersion: 2 }));
    expect(change).toMatchObject({ key: true, cidrs: false, endpoints: false, none: false, a: { config: true, routesAdded: [], routesRemoved: [] }, b: { config: true, routesAdded: [], routesRemoved: [] } });
    // A plan without a version is version 1.
    expect(diffPlans(plan(), plan({ keyVersion: 1 })).none).toBe(true);
  });

  it('a gateway on a new instance: its routes are re-pointed (new next hop added, old removed)', () => {
    const change = diffPlans(plan(), plan({ b: vpc({}, { instanceId: 'i-2' }) }));
    expect(change.b.routesAdded.map((r) => `${r.routeTableId}>${r.instanceId}`)).toEqual(['vtb-1>i-2', 'vtb-2>i-2']);
    expect(change.b.routesRemoved.map((r) => `${r.routeTableId}>${r.instanceId}`)).toEqual(['vtb-1>i-1', 'vtb-2>i-1']);
    expect(change).toMatchObject({ cidrs: false, endpoints: false, none: false, a: { config: false }, b: { config: false } });
  });

  it('a new initiator swaps both configs\' roles', () => {
    const change = diffPlans(plan(), plan({ initiator: 'b', initiatorWhy: 'vpc initiates: dc accepts no inbound connections' }));
    expect(change).toMatchObject({ a: { config: true }, b: { config: true }, initiatorMoved: false, none: false });
  });
});

describe('describeChange', () => {
  const say = (from: LinkPlan, to: LinkPlan): string => describeChange(from, to, diffPlans(from, to));

  it('no change says so', () => {
    expect(say(plan(), plan())).toBe('no change');
  });

  it('names the gateway whose CIDRs changed, with before and after, and the route count per end', () => {
    expect(say(plan(), plan({ a: dc({ cidrs: ['10.1.0.0/24', '10.9.0.0/24'] }) }))).toBe('dc carries 10.1.0.0/24, 10.9.0.0/24 (was 10.1.0.0/24); vpc: +2/-0 route(s)');
  });

  it('names a moved gateway with its new and old address, or that the new one is unknown', () => {
    expect(say(plan(), plan({ b: vpc({ endpoint: '203.0.113.21' }) }))).toBe('vpc is now at 203.0.113.21 (was 203.0.113.20)');
    expect(say(plan(), plan({ a: dc({ endpoint: undefined }) }))).toBe('dc is now at an unknown address (was 198.51.100.10)');
  });

  it('a key rotation and a new initiator come first, in words', () => {
    expect(say(plan(), plan({ keyVersion: 4 }))).toBe('new pre-shared key (version 4) on both ends');
    const why = 'vpc initiates: dc accepts no inbound connections (inbound: false)';
    expect(say(plan(), plan({ initiator: 'b', initiatorWhy: why, keyVersion: 2 }))).toBe(`new pre-shared key (version 2) on both ends; ${why}`);
  });

  it('a new instance shows as re-pointed routes', () => {
    expect(say(plan(), plan({ b: vpc({}, { instanceId: 'i-2' }) }))).toBe('vpc: +2/-2 route(s)');
  });
});
