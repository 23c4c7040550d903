// The link workflow's data-plane path: an end's probe verdict (probeSignal) turns an up link
// degraded with the reason, once per episode, and back to up when probes pass again.
import { describe, expect, it } from 'vitest';
import { linkWorkflowId, probeSignal, statusQuery, tunnelSignal } from '../../contracts/link-workflow';
import { temporalCliAvailable } from '../helpers/temporal';
import { withWorkflowEnv } from '../helpers/workflow-env';
import { FakeLinkWorld } from './link-fakes';

const cli = temporalCliAvailable();
if (!cli.ok) console.warn(`link probe workflow tests skipped: ${cli.reason}`);

describe.skipIf(!cli.ok)('link workflow: probes through the tunnel', () => {
  const wf = withWorkflowEnv();

  it('degrades an up link whose probes fail while IKE is up, once, and recovers when they pass', async () => {
    const queue = wf.unique('link');
    const hubQueue = `${queue}.hub.h1`;
    const world = new FakeLinkWorld({ hubQueue, client: wf.client });
    world.gateway('a', { endpoint: '198.51.100.1' });
    world.gateway('b', { endpoint: '198.51.100.2' });
    const id = wf.unique('ln');
    world.link(id, 'a', 'b', { a: ['10.1.0.0/24'], b: ['10.2.0.0/24'] });
    const activities = world.activities();
    const state = () => expect.poll(() => world.row(id).state, { timeout: 15_000, interval: 20 });
    await wf.withWorkers([{ taskQueue: queue, workflows: true, activities }, { taskQueue: hubQueue, activities }], async () => {
      const handle = await wf.client.workflow.start('linkWorkflow', { taskQueue: queue, workflowId: linkWorkflowId(id), args: [{ linkId: id }] });
      try {
        await state().toBe('up');
        const reason = 'no probe answer from b through the tunnel for 30 s; IKE is up';
        await handle.signal(probeSignal, { gatewayId: 'a', failing: true, reason });
        // The other end says the same a moment later: still one episode, one event.
        await handle.signal(probeSignal, { gatewayId: 'b', failing: true, reason: 'no probe answer from a through the tunnel for 30 s; IKE is up' });
        await state().toBe('degraded');
        expect(world.row(id).reason).toBe(reason);
        await handle.signal(probeSignal, { gatewayId: 'a', failing: false });
        await new Promise((r) => setTimeout(r, 300));
        expect(world.row(id).state).toBe('degraded'); // b still fails
        await handle.signal(probeSignal, { gatewayId: 'b', failing: false });
        await state().toBe('up');
        const types = world.row(id).events.map((e) => e.type);
        expect(types.filter((t) => t === 'dataplane.degraded')).toHaveLength(1);
        expect(types.slice(-2)).toEqual(['dataplane.degraded', 'dataplane.recovered']);
        expect(await handle.query(statusQuery)).toMatchObject({ phase: 'up' });

        // An IKE-level outage keeps its own reason and events.
        await handle.signal(tunnelSignal, { gatewayId: 'b', up: false });
        await state().toBe('degraded');
        await handle.signal(tunnelSignal, { gatewayId: 'b', up: true });
        await state().toBe('up');
        expect(world.row(id).events.map((e) => e.type).slice(-2)).toEqual(['tunnel.down', 'tunnel.up']);
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    });
  });
});
