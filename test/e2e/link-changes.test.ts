// Changing a running link with real charon: a CIDR change makes a subnet reachable that was not,
// and moving a site to a new public address (its EIP re-associated) is followed without anyone
// touching the API: traffic flows again within seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsSupport } from '../helpers/netns';
import { temporalCliAvailable } from '../helpers/temporal';
import { startChangeStack, type ChangeStack } from '../helpers/change-stack';
import type { ChangedLinkBody, GatewayBody, LinkBody, LinkWithEventsBody } from '../helpers/api-harness';

const net = await netnsSupport();
const cli = temporalCliAvailable();
const reason = !net.ok ? net.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`link change e2e test skipped: ${reason}`);

describe.runIf(!reason)('changing a running link, real strongSwan', () => {
  let c: ChangeStack;
  let linkId: string;

  beforeAll(async () => {
    c = await startChangeStack({ id: 'chg', dcIp: '198.51.100.81', vpcIp: '203.0.113.81', dcLan: '10.81.0.0/24', vpcLan: '10.82.0.0/24', dcExtra: '10.83.0.0/24' }, { addressCheckMs: 500 });
    const r = await c.stack.controller.api<LinkBody>('POST', '/api/links', { a: c.dcId, b: c.vpcId, cidrs: { a: ['10.81.0.0/24'] } });
    expect(r.status).toBe(202);
    linkId = r.body.id;
    await c.stack.fixture.waitForTcp('vpc', c.stack.fixture.site('dc').hostIp, 7000, { timeoutMs: 20_000, intervalMs: 20 });
    const deadline = Date.now() + 15_000;
    while ((await link()).state !== 'up') {
      if (Date.now() > deadline) throw new Error(`link ${linkId} did not come up: ${JSON.stringify(await link())}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }, 120_000);

  afterAll(async () => {
    await c?.close();
  });

  const link = async () => (await c.stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${linkId}`)).body;

  it('a CIDR change carries the new subnet: TCP to it fails before PATCH and succeeds after', async () => {
    const f = c.stack.fixture;
    expect(await f.tcpProbe('vpc', c.dcExtraHost, 7000, 1500)).toBe(false);
    const t0 = Date.now();
    const r = await c.stack.controller.api<ChangedLinkBody>('PATCH', `/api/links/${linkId}`, { cidrs: { a: ['10.81.0.0/24', '10.83.0.0/24'] } });
    expect(r.status).toBe(202);
    const ms = await f.waitForTcp('vpc', c.dcExtraHost, 7000, { timeoutMs: 20_000, intervalMs: 20 });
    console.log(`new subnet reachable ${Date.now() - t0} ms after PATCH (probe ${ms} ms)`);
    await expect.poll(async () => (await link()).state, { timeout: 15_000 }).toBe('up');
    // The old subnet still works: the change added to the link, it did not replace it.
    expect(await f.tcpProbe('vpc', f.site('dc').hostIp, 7000, 3000)).toBe(true);
    expect((await link()).events.map((e) => e.type)).toEqual(expect.arrayContaining(['cidr.change_requested', 'link.changing', 'link.changed']));
  });

  it("follows vpc's new public address: traffic is restored without an API call", async () => {
    const f = c.stack.fixture;
    const dcHost = f.site('dc').hostIp;
    expect(await f.tcpProbe('vpc', dcHost, 7000, 3000)).toBe(true);
    const t0 = Date.now();
    await c.moveVpc('203.0.113.181');
    const ms = await f.waitForTcp('dc', f.site('vpc').hostIp, 7000, { timeoutMs: 30_000, intervalMs: 50 });
    console.log(`traffic restored ${Date.now() - t0} ms after the address change (probe ${ms} ms)`);
    const g = (await c.stack.controller.api<GatewayBody>('GET', `/api/gateways/${c.vpcId}`)).body;
    expect(g).toMatchObject({ endpoint: '203.0.113.181', observedIp: '203.0.113.181' });
    await expect.poll(async () => (await link()).state, { timeout: 15_000 }).toBe('up');
    const changed = (await link()).events.filter((e) => e.type === 'link.changed').at(-1)!;
    expect(changed.message).toMatch(/is now at 203\.0\.113\.181 \(was 203\.0\.113\.81\)/);
    // Both directions work over the new address.
    expect(await f.tcpProbe('vpc', dcHost, 7000, 3000)).toBe(true);
  });
});
