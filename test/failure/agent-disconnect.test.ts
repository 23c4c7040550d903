// Failure: an agent disconnects in the middle of a config push. The push must not fail the link:
// the workflow sees the gateway unreachable, records that it is waiting, and pushes again once the
// same gateway is back (same credentials, same state directory); the link then comes up.
//
// How: the responder's IPsec driver holds its first apply (the push has reached the agent and is
// being applied, the controller is waiting for the answer). The agent is stopped while it holds
// it, and the held apply is then dropped, never answered, as it would be when the process dies.
// The same driver object stays (charon kept running), and a new agent starts on the same
// gateway and state directory.
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestAgent } from '../helpers/agents';
import { missing, withStack } from '../helpers/with-stack';
import type { GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { FakeIpsecDriver, FakeIpsecNetwork } from '../helpers/fake-ipsec';
import type { LinkConfig } from '../../protocol/messages';

const needs = { controller: true, name: 'fail-ad' } as const;

/** A fake charon whose next apply is held until the test drops it. */
class HoldingDriver extends FakeIpsecDriver {
  private hold?: { reached: (l: LinkConfig) => void; drop: (e: Error) => void };

  constructor(net: FakeIpsecNetwork, address: string) {
    super(net, address);
    net.drivers.set(address, this);
  }

  /** Holds the next apply; resolves with its config once it arrived. */
  holdNextApply(): Promise<LinkConfig> {
    return new Promise((resolve) => {
      this.hold = { reached: resolve, drop: () => undefined };
    });
  }

  /** Fails the held apply (its caller is gone by then, so nobody hears about it). */
  dropHeld(): void {
    this.hold?.drop(new Error('agent process died during apply'));
    this.hold = undefined;
  }

  override async apply(link: LinkConfig): Promise<void> {
    const h = this.hold;
    if (h) {
      await new Promise<void>((_resolve, reject) => {
        h.drop = reject;
        h.reached(link);
      });
    }
    return super.apply(link);
  }
}

describe.skipIf(missing(needs, 'agent-disconnect failure test'))('agent disconnects in the middle of a config push', () => {
  const s = withStack(needs);

  const linkOf = async (id: string) => (await s.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;
  const online = async (id: string) => (await s.api<GatewayBody>('GET', `/api/gateways/${id}`)).body.online;

  it('waits for the gateway while it is away and completes the push once it is back', async () => {
    const net = new FakeIpsecNetwork();
    const ipA = '198.51.100.71';
    const ipB = '198.51.100.72';
    const a = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'ad-a', provider: 'onprem', cidrs: ['10.71.0.0/24'], publicIp: ipA })).body;
    const b = (await s.api<RegisteredGatewayBody>('POST', '/api/gateways', { name: 'ad-b', provider: 'onprem', cidrs: ['10.72.0.0/24'], publicIp: ipB })).body;
    const driverB = new HoldingDriver(net, ipB);
    s.track(await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: a.id, secret: a.agentSecret, driver: net.driver(ipA), publicIp: ipA }));
    const agentB1 = await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: b.id, secret: b.agentSecret, driver: driverB, publicIp: ipB });
    await expect.poll(async () => (await online(a.id)) && (await online(b.id)), { timeout: 10_000 }).toBe(true);

    const held = driverB.holdNextApply();
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id });
    expect(r.status).toBe(202);
    const linkId = r.body.id;
    const config = await held; // the push reached gateway B and is being applied
    expect(config.name).toBe(`link-${linkId}`);
    expect((await linkOf(linkId)).state).toBe('provisioning');

    // The agent goes away while the controller waits for its answer.
    await agentB1.stop();
    driverB.dropHeld();
    await expect.poll(() => online(b.id), { timeout: 10_000 }).toBe(false);
    // The workflow notices and waits for the gateway rather than failing the link.
    await expect
      .poll(async () => (await linkOf(linkId)).events.some((e) => e.type === 'gateway.waiting' && e.data?.gatewayId === b.id), { timeout: 20_000 })
      .toBe(true);
    const whileAway = await linkOf(linkId);
    expect(whileAway.state).toBe('provisioning');
    expect(whileAway.events.filter((e) => e.type === 'config.pushed' && e.data?.gatewayId === b.id)).toEqual([]);
    expect(driverB.conns.has(config.name)).toBe(false);

    // Back: same gateway, same state directory, charon (the driver) still running.
    const agentB2 = await startTestAgent({ controllerUrl: s.ctl.agentUrl, gatewayId: b.id, secret: b.agentSecret, driver: driverB, publicIp: ipB, stateDir: agentB1.stateDir });
    s.track(agentB2);
    await expect.poll(async () => (await linkOf(linkId)).state, { timeout: 30_000 }).toBe('up');

    const link = await linkOf(linkId);
    const types = link.events.map((e) => e.type);
    const waiting = link.events.findIndex((e) => e.type === 'gateway.waiting' && e.data?.gatewayId === b.id);
    const pushedB = link.events.map((e, i) => ({ e, i })).filter(({ e }) => e.type === 'config.pushed' && e.data?.gatewayId === b.id);
    expect(pushedB).toHaveLength(1); // the interrupted push never completed; the retry did
    expect(pushedB[0]!.i).toBeGreaterThan(waiting);
    expect(types).not.toContain('link.failed');
    expect(types.at(-1)).toBe('link.up');
    // What the restarted agent applied is on disk, so it would survive the next restart too.
    const saved = JSON.parse(await readFile(path.join(agentB1.stateDir, 'links.json'), 'utf8')) as { links: Record<string, LinkConfig> };
    expect(Object.keys(saved.links)).toEqual([config.name]);
    expect(driverB.installed.has(config.name)).toBe(true);
  });
});
