// Failure: a site's agent and charon restart while no controller is reachable. The tunnel must
// come back from the config the agent saved on disk, without the controller: at the initiating
// site the agent re-applies and re-initiates; at the responding site it re-applies, and the
// initiator's dead-peer detection re-establishes the tunnel to it.
//
// Real strongSwan on the namespace fixture (test/helpers/stack.ts). test/integration/vici.test.ts
// kills charon under the VICI client and test/integration/agent.test.ts reconnects agents to a
// hub, but neither restarts the agent process next to a fresh charon with the controller gone:
// that is what is proven here. charon's restart is real (its SAs and loaded conns are lost, and
// traffic is shown to stop), so only the saved state can bring the tunnel back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { netnsSupport } from '../helpers/netns';
import { temporalCliAvailable } from '../helpers/temporal';
import { startStack, type Stack } from '../helpers/stack';
import { waitFor } from '../helpers/procs';
import { getConns, listSas } from '../../agent/vici';

const net = await netnsSupport();
const cli = temporalCliAvailable();
const reason = !net.ok ? net.reason : !cli.ok ? cli.reason : undefined;
if (reason) console.warn(`agent-offline-restart failure test skipped: ${reason}`);

const PORT = 7320;

describe.runIf(!reason)('agent and charon restart with no controller reachable', () => {
  let stack: Stack;
  let name = '';

  beforeAll(async () => {
    stack = await startStack({
      id: 'fao',
      sites: [
        { name: 'dc', publicIp: '198.51.100.62', lanCidr: '10.63.0.0/24' },
        { name: 'vpc', publicIp: '203.0.113.62', lanCidr: '10.64.0.0/24', behindNat: true },
      ],
    });
    await Promise.all([stack.startAgent('dc'), stack.startAgent('vpc')]);
    await Promise.all([stack.fixture.tcpServer('vpc', PORT), stack.fixture.tcpServer('dc', PORT)]);
    // Link up (dc, side a and on-prem, initiates), then the controller goes away for good.
    const r = await stack.controller.api<{ id: string }>('POST', '/api/links', { a: stack.gateways.get('dc')!.id, b: stack.gateways.get('vpc')!.id });
    expect(r.status).toBe(202);
    name = `link-${r.body.id}`;
    await waitFor('the link to be up', async () => ((await stack.controller.api<{ state: string }>('GET', `/api/links/${r.body.id}`)).body.state === 'up' ? true : undefined), 30_000, 100);
    await stack.fixture.waitForTcp('dc', stack.fixture.site('vpc').hostIp, PORT, { timeoutMs: 10_000, intervalMs: 50 });
    await stack.stopController();
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  const controllerDown = async () =>
    fetch(`${stack.controller.url}/api/health`, { signal: AbortSignal.timeout(1_000) }).then(
      () => false,
      () => true,
    );

  async function linkLoaded(site: string): Promise<{ conn: boolean; child: string | undefined }> {
    const v = await stack.fixture.vici(site);
    try {
      const conns = await getConns(v);
      const child = (await listSas(v, { ike: name })).flatMap((s) => s.childSas).find((c) => c.name === name && c.state === 'INSTALLED');
      return { conn: conns.includes(name), child: child?.uniqueId };
    } finally {
      await v.close();
    }
  }

  /** Stops the agent, restarts charon (losing its SAs and conns), proves the tunnel is gone, starts the agent again. */
  async function restartSite(site: string, probeFrom: string, to: string): Promise<number> {
    await stack.stopAgent(site);
    await stack.fixture.restartCharon(site);
    expect(await linkLoaded(site)).toEqual({ conn: false, child: undefined });
    expect(await stack.fixture.tcpProbe(probeFrom, to, PORT, 1_500)).toBe(false);
    const t0 = Date.now();
    await stack.startAgent(site, {}, { waitOnline: false });
    await stack.fixture.waitForTcp(probeFrom, to, PORT, { timeoutMs: 40_000, intervalMs: 100 }).catch((err: unknown) => {
      // The agent's own lines (not its reconnect attempts) and both charons' view of the tunnel.
      const agentLines = agentLog(site).split('\n').filter((l) => l && !l.includes('"socket error"') && !l.includes('"reconnecting"') && !l.includes('controller connection failed')).slice(-15).join('\n');
      const charons = ['dc', 'vpc'].map((s) => `${s} charon:\n${stack.fixture.charonLog(s, 15)}`).join('\n');
      throw new Error(`${(err as Error).message}\n${site} agent log:\n${agentLines}\n${charons}`);
    });
    return Date.now() - t0;
  }

  const agentLog = (site: string) => readFileSync(path.join(stack.fixture.site(site).dir, 'agent.log'), 'utf8');

  it('the initiating site: the agent restores the saved link and re-initiates it', async () => {
    expect(await controllerDown()).toBe(true);
    const ms = await restartSite('dc', 'dc', stack.fixture.site('vpc').hostIp);
    console.log(`[agent-offline-restart] initiator (dc) restarted with charon: traffic again ${ms} ms after its agent started`);
    expect((await linkLoaded('dc')).conn).toBe(true);
    expect(await stack.fixture.tcpProbe('vpc', stack.fixture.site('dc').hostIp, PORT, 2_000)).toBe(true);
    expect(agentLog('dc')).toMatch(/restoring saved links/);
    // Still no controller: the agent got there on its own, and keeps trying to reach one.
    expect(await controllerDown()).toBe(true);
    expect(stack.agents.get('dc')!.exitCode).toBeNull();
  });

  it('the responding site: the agent restores the saved link and the initiator re-establishes it', async () => {
    expect(await controllerDown()).toBe(true);
    const ms = await restartSite('vpc', 'dc', stack.fixture.site('vpc').hostIp);
    console.log(`[agent-offline-restart] responder (vpc) restarted with charon: traffic again ${ms} ms after its agent started (dead-peer detection on the initiator)`);
    expect((await linkLoaded('vpc')).conn).toBe(true);
    expect((await linkLoaded('vpc')).child).toBeDefined();
    expect(agentLog('vpc')).toMatch(/restoring saved links/);
    expect(await controllerDown()).toBe(true);
  }, 90_000);
});
