// The walking skeleton for real: two sites in network namespaces, real charon at each, our agents,
// one controller. Traffic between the two LANs fails before the link exists and flows after
// POST /api/links, through an IKEv2/ESP tunnel that the link workflow configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsSupport } from '../helpers/netns';
import { temporalCliAvailable } from '../helpers/temporal';
import { startStack, type Stack } from '../helpers/stack';
import type { GatewayBody, LinkBody, LinkWithEventsBody } from '../helpers/api-harness';
import { listSas } from '../../agent/vici';

const net = await netnsSupport();
const cli = temporalCliAvailable();
const reason = !net.ok ? net.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`real-tunnel e2e test skipped: ${reason}`);

describe.runIf(!reason)('real IPsec link between two sites from one API call', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      id: 'e2e1',
      sites: [
        // An on-prem shape (public address on the gateway) and a cloud shape (1:1 NAT in front).
        { name: 'dc', publicIp: '198.51.100.21', lanCidr: '10.31.0.0/24' },
        { name: 'vpc', publicIp: '203.0.113.21', lanCidr: '10.32.0.0/24', behindNat: true },
      ],
    });
    await Promise.all([stack.startAgent('dc'), stack.startAgent('vpc')]);
    await stack.fixture.tcpServer('vpc', 7000);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  const dcHost = () => stack.fixture.site('dc');
  const vpcHost = () => stack.fixture.site('vpc');

  async function childBytes(site: string, name: string): Promise<{ bytesIn: number; bytesOut: number } | undefined> {
    const v = await stack.fixture.vici(site);
    try {
      const sas = await listSas(v, { ike: name });
      const child = sas.flatMap((s) => s.childSas).find((c) => c.name === name && c.state === 'INSTALLED');
      return child && { bytesIn: child.bytesIn, bytesOut: child.bytesOut };
    } finally {
      await v.close();
    }
  }

  it('agents report where they are: the hub saw each site by its public address', async () => {
    const dc = await stack.controller.api<GatewayBody>('GET', `/api/gateways/${stack.gateways.get('dc')!.id}`);
    const vpc = await stack.controller.api<GatewayBody>('GET', `/api/gateways/${stack.gateways.get('vpc')!.id}`);
    expect(dc.body).toMatchObject({ online: true, observedIp: dcHost().publicIp });
    // Behind 1:1 NAT the agent's own address is private; the hub sees the public one.
    expect(vpc.body).toMatchObject({ online: true, observedIp: vpcHost().publicIp });
  });

  it('TCP from LAN A to LAN B fails before the link, succeeds after POST /api/links, and SA counters rise', async () => {
    expect(await stack.fixture.tcpProbe('dc', vpcHost().hostIp, 7000, 1500)).toBe(false);

    const t0 = Date.now();
    const r = await stack.controller.api<LinkBody>('POST', '/api/links', { a: stack.gateways.get('dc')!.id, b: stack.gateways.get('vpc')!.id });
    expect(r.status).toBe(202);
    const ms = await stack.fixture.waitForTcp('dc', vpcHost().hostIp, 7000, { timeoutMs: 20_000, intervalMs: 20 });
    console.log(`first byte through the tunnel ${Date.now() - t0} ms after POST (probe ${ms} ms)`);

    await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 15_000 }).toBe('up');
    const link = (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body;
    expect(link.a.tunnelUp && link.b.tunnelUp).toBe(true);
    expect(link.events.map((e) => e.type)).toEqual(expect.arrayContaining(['link.requested', 'config.pushed', 'link.up']));

    const name = `link-${r.body.id}`;
    const before = await childBytes('dc', name);
    expect(before).toBeDefined();
    for (let i = 0; i < 5; i++) expect(await stack.fixture.tcpProbe('dc', vpcHost().hostIp, 7000, 3000)).toBe(true);
    const after = (await childBytes('dc', name))!;
    expect(after.bytesOut).toBeGreaterThan(before!.bytesOut);
    expect(after.bytesIn).toBeGreaterThan(before!.bytesIn);
    const vpcSide = (await childBytes('vpc', name))!;
    expect(vpcSide.bytesIn).toBeGreaterThan(0);

    // Deleting the link tears the tunnel down again.
    expect((await stack.controller.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
    await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 15_000 }).toBe('deleted');
    expect(await childBytes('dc', name)).toBeUndefined();
    expect(await stack.fixture.tcpProbe('dc', vpcHost().hostIp, 7000, 1500)).toBe(false);
  });

  it('links the same pair again right after a delete, several times (nothing of the old tunnel lingers)', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await stack.controller.api<LinkBody>('POST', '/api/links', { a: stack.gateways.get('dc')!.id, b: stack.gateways.get('vpc')!.id });
      expect(r.status).toBe(202);
      await stack.fixture.waitForTcp('dc', vpcHost().hostIp, 7000, { timeoutMs: 20_000, intervalMs: 20 });
      await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 15_000 }).toBe('up');
      expect((await stack.controller.api('DELETE', `/api/links/${r.body.id}`)).status).toBe(202);
      await expect.poll(async () => (await stack.controller.api<LinkWithEventsBody>('GET', `/api/links/${r.body.id}`)).body.state, { timeout: 15_000 }).toBe('deleted');
      // Neither end keeps (or keeps re-dialling) an SA of the deleted link.
      for (const site of ['dc', 'vpc']) {
        const v = await stack.fixture.vici(site);
        try {
          expect((await listSas(v, {})).map((sa) => sa.name)).not.toContain(`link-${r.body.id}`);
        } finally {
          await v.close();
        }
      }
    }
  });
});
