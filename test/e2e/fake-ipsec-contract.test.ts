// Pins FakeIpsecNetwork (used by tests that run without root) to real charon: the same link
// configs must succeed or fail the same way in both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetFixture, netnsSupport } from '../helpers/netns';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';
import { ViciDriver } from '../../agent/vici-driver';
import { silentLogger } from '../../lib/log';
import type { LinkConfig } from '../../protocol/messages';
import type { IpsecDriver } from '../../agent/driver';

const net = await netnsSupport();
if (!net.ok) console.warn(`fake-vs-charon contract test skipped: ${net.reason}`);

const A = { name: 'a', publicIp: '198.51.100.41', lanCidr: '10.51.0.0/24' };
const B = { name: 'b', publicIp: '198.51.100.42', lanCidr: '10.52.0.0/24' };

function pair(name: string, over: { a?: Partial<LinkConfig>; b?: Partial<LinkConfig> } = {}): [LinkConfig, LinkConfig] {
  const base = { name, version: 1, localAddrs: ['%any'], psk: 'contract-psk-0123456789abcdef' };
  return [
    { ...base, localId: 'gw-a', remoteId: 'gw-b', remoteAddrs: [B.publicIp], localTs: [A.lanCidr], remoteTs: [B.lanCidr], initiator: true, ...over.a },
    { ...base, localId: 'gw-b', remoteId: 'gw-a', remoteAddrs: [A.publicIp], localTs: [B.lanCidr], remoteTs: [A.lanCidr], initiator: false, ...over.b },
  ];
}

const scenarios: Array<[string, [LinkConfig, LinkConfig] | [LinkConfig, undefined], boolean]> = [
  ['matching configs come up', pair('c-ok'), true],
  ['a wrong PSK fails', pair('c-psk', { b: { psk: 'another-psk-0123456789abcdef' } }), false],
  ['mismatched identities fail', pair('c-id', { b: { remoteId: 'gw-x' } }), false],
  ['disjoint traffic selectors fail', pair('c-ts', { b: { remoteTs: ['10.99.0.0/24'] } }), false],
  ['narrower traffic selectors are narrowed, not refused', pair('c-narrow', { b: { remoteTs: ['10.51.0.0/25'] } }), true],
  ['a responder without the link fails', [pair('c-none')[0], undefined], false],
];

describe.runIf(net.ok)('FakeIpsecNetwork decides like charon', () => {
  let f: NetFixture;
  let real: [IpsecDriver, IpsecDriver];

  beforeAll(async () => {
    f = await NetFixture.create({ id: 'fkc', sites: [A, B] });
    await Promise.all([f.startCharon('a'), f.startCharon('b')]);
    real = [new ViciDriver({ socketPath: f.site('a').viciSocket, log: silentLogger }), new ViciDriver({ socketPath: f.site('b').viciSocket, log: silentLogger })];
    await Promise.all(real.map((d) => d.start()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all((real ?? []).map((d) => d.close()));
    await f?.destroy();
  });

  it.each(scenarios)('%s', async (_what, [ca, cb], expected) => {
    const fake = new FakeIpsecNetwork();
    const fa = fake.driver(A.publicIp);
    const fb = fake.driver(B.publicIp);
    await real[0].apply(ca);
    await fa.apply(ca);
    if (cb) {
      await real[1].apply(cb);
      await fb.apply(cb);
    }
    const [realResult, fakeResult] = [await real[0].initiate(ca.name, 5000), await fa.initiate(ca.name, 5000)];
    expect(realResult).toBe(expected);
    expect(fakeResult).toBe(realResult);
    await real[0].remove(ca.name);
    await real[1].remove(ca.name);
  });
});
