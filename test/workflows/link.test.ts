// The link workflow on its own (TestWorkflowEnvironment, fake activities in test/workflows/
// link-fakes.ts): which steps it takes, in which order, and what it records, when a link is
// provisioned, waits for an offline end, is changed (and rolled back), follows a moved end, reports
// its tunnel, and is deleted. The full path through API, hub and agents is test/integration/.
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { deleteSignal, gatewayOnlineSignal, linkWorkflowId, reconfigureSignal, statusQuery, tunnelSignal } from '../../contracts/link-workflow';
import { temporalCliAvailable } from '../helpers/temporal';
import { withWorkflowEnv } from '../helpers/workflow-env';
import { FakeLinkWorld, expectSteps, windows } from './link-fakes';

const cli = temporalCliAvailable();
if (!cli.ok) console.warn(`link workflow tests skipped: ${cli.reason}`);

const A = ['10.1.0.0/24'];
const B = ['10.2.0.0/24'];
const push = (gw: string, version: number, local: string[], remote: string[]) => `pushLinkConfig ${gw} v${version} ${local.join(',')}>${remote.join(',')}`;
/** The initiator's first initiate, carrying its config. */
const initiateWith = (gw: string, version: number, local: string[], remote: string[]) => `initiateLink ${gw} with v${version} ${local.join(',')}>${remote.join(',')}`;

describe.skipIf(!cli.ok)('link workflow (TestWorkflowEnvironment, fake activities)', () => {
  const wf = withWorkflowEnv();

  /** A link between gateways a and b (both online unless told), its workflow started, until `fn` is done. */
  async function withLink(o: { bOnline?: boolean }, fn: (t: { world: FakeLinkWorld; id: string; name: string; handle: WorkflowHandle }) => Promise<void>): Promise<void> {
    const queue = wf.unique('link');
    const hubQueue = `${queue}.hub.h1`;
    const world = new FakeLinkWorld({ hubQueue, client: wf.client });
    world.gateway('a', { endpoint: '198.51.100.1' });
    world.gateway('b', { endpoint: '198.51.100.2', online: o.bOnline ?? true });
    const id = wf.unique('ln');
    world.link(id, 'a', 'b', { a: A, b: B });
    const activities = world.activities();
    await wf.withWorkers([{ taskQueue: queue, workflows: true, activities }, { taskQueue: hubQueue, activities }], async () => {
      const handle = await wf.client.workflow.start('linkWorkflow', { taskQueue: queue, workflowId: linkWorkflowId(id), args: [{ linkId: id }] });
      try {
        await fn({ world, id, name: `link-${id}`, handle });
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    });
  }

  const state = (world: FakeLinkWorld, id: string) => expect.poll(() => world.row(id).state, { timeout: 15_000, interval: 20 });
  const events = (world: FakeLinkWorld, id: string) => world.row(id).events.map((e) => e.type);

  it("provisions: the responder's config pushed, the initiator's sent with its initiate, the link is up", async () => {
    await withLink({}, async ({ world, id, name, handle }) => {
      await state(world, id).toBe('up');
      expectSteps(world.steps(), [['planAndClaim'], [push('b', 1, B, A)], [initiateWith('a', 1, A, B)], ['setLinkState up']]);
      // Side a initiates and dials b; b accepts a from the address a stays at.
      expect(world.agent('a').configs.get(name)).toMatchObject({ initiator: true, remoteAddrs: ['198.51.100.2'], localId: 'gw-a', remoteId: 'gw-b' });
      expect(world.agent('b').configs.get(name)).toMatchObject({ initiator: false, remoteAddrs: ['198.51.100.1'] });
      expect(events(world, id)).toEqual(['config.pushed', 'config.pushed', 'link.up']);
      expect(await handle.query(statusQuery)).toEqual({ phase: 'up', configVersion: 1, tunnelUp: { a: true, b: true } });
    });
  });

  it('waits for an offline end (once announced), and goes on when it connects', async () => {
    await withLink({ bOnline: false }, async ({ world, id, handle }) => {
      await expect.poll(() => events(world, id), { timeout: 10_000, interval: 20 }).toContain('gateway.waiting');
      // Still waiting after several retries: not failed, and said only once.
      await new Promise((r) => setTimeout(r, 1600));
      expect(world.row(id).state).toBe('provisioning');
      expect(events(world, id).filter((e) => e === 'gateway.waiting')).toHaveLength(1);
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'provisioning', waitingFor: 'b' });
      expect(world.log.filter((l) => l === 'locateGateway b').length).toBeGreaterThan(1);
      world.agent('b').online = true;
      await handle.signal(gatewayOnlineSignal, { gatewayId: 'b' });
      await state(world, id).toBe('up');
      // The reconnect also asks for a re-plan: nothing changed, nothing is pushed again.
      await expect.poll(() => world.steps().at(-1), { timeout: 5000, interval: 20 }).toBe('planLink');
      expectSteps(world.steps(), [['planAndClaim'], ['recordEvent gateway.waiting'], [push('b', 1, B, A)], [initiateWith('a', 1, A, B)], ['setLinkState up'], ['planLink']]);
    });
  });

  it('fails at once, with the reason, when an end refuses its config at creation: not retried, nothing initiated after', async () => {
    for (const side of ['a', 'b'] as const) {
      await withLink({}, async ({ world, id }) => {
        world.agent(side).refuse = () => 'invalid traffic selector';
        await state(world, id).toBe('failed');
        expect(world.row(id).reason).toMatch(new RegExp(`^config push to ${side}: loading connection '.*' failed: invalid traffic selector$`));
        // The initiator's refusal comes back from its one initiate; the responder's stops the link before any.
        expect(world.steps().filter((l) => l.startsWith('initiateLink'))).toHaveLength(side === 'a' ? 1 : 0);
        expect(events(world, id)).toEqual([...(side === 'a' ? ['config.pushed'] : []), 'link.failed']);
      });
    }
  });

  it("sends the initiator's config again when its initiate failed before the agent took it", async () => {
    await withLink({}, async ({ world, id, name }) => {
      world.agent('a').failNextApply = 'database unavailable';
      await state(world, id).toBe('up');
      // The first attempt failed before the push; the second carries the config again and works.
      expect(world.steps().filter((l) => l.startsWith('initiateLink'))).toEqual([initiateWith('a', 1, A, B), initiateWith('a', 1, A, B)]);
      expect(world.agent('a').configs.get(name)).toMatchObject({ version: 1, initiator: true });
      expect(events(world, id)).toEqual(['config.pushed', 'tunnel.initiate_failed', 'config.pushed', 'link.up']);
    });
  });

  it('deletes: routes and both configs removed, the row marked deleted, the workflow done; a repeated delete is harmless', async () => {
    await withLink({}, async ({ world, id, name, handle }) => {
      await state(world, id).toBe('up');
      const mark = world.log.length;
      // The API records the intent, then signals; its sweep may signal again (a repeat changes nothing).
      await handle.signal(deleteSignal);
      await handle.signal(deleteSignal);
      await handle.result();
      expectSteps(world.steps().slice(-5), [['setLinkState deleting'], ['planLink'], ['removeLinkFrom a', 'removeLinkFrom b'], ['finishDelete']]);
      expect(world.log.slice(mark).filter((l) => l.startsWith('pushLinkConfig'))).toEqual([]);
      expect(world.row(id).state).toBe('deleted');
      expect(world.agent('a').configs.has(name) || world.agent('b').configs.has(name)).toBe(false);
      expect(events(world, id).slice(-4)).toEqual(['link.deleting', 'config.removed', 'config.removed', 'link.deleted']);
    });
  });

  it('a delete while provisioning waits for an end stops the wait; the teardown waits for that end to remove its config', async () => {
    await withLink({ bOnline: false }, async ({ world, id, handle }) => {
      await expect.poll(() => events(world, id), { timeout: 10_000, interval: 20 }).toContain('gateway.waiting');
      await handle.signal(deleteSignal);
      await state(world, id).toBe('deleting');
      expect(world.steps()).not.toContain('initiateLink a');
      await expect.poll(() => world.steps(), { timeout: 5000, interval: 20 }).toContain('removeLinkFrom a');
      expect(world.steps()).not.toContain('finishDelete');
      world.agent('b').online = true;
      await handle.signal(gatewayOnlineSignal, { gatewayId: 'b' });
      await handle.result();
      expect(world.steps().slice(-2)).toEqual(['removeLinkFrom b', 'finishDelete']);
      expect(world.row(id).state).toBe('deleted');
    });
  });

  it('applies a CIDR change: both ends get the new selectors, the initiator re-dials, the link is up again', async () => {
    await withLink({}, async ({ world, id, name, handle }) => {
      await state(world, id).toBe('up');
      const mark = world.log.length;
      const wider = [...A, '10.9.0.0/24'];
      world.row(id).cidrs.a = wider;
      await handle.signal(reconfigureSignal, { reason: 'cidrs' });
      await expect.poll(() => events(world, id), { timeout: 10_000, interval: 20 }).toContain('link.changed');
      expectSteps(world.steps().slice(mark), [['planLink'], ['setLinkState updating'], [push('a', 2, wider, B), push('b', 2, B, wider)], ['initiateLink a restart'], ['setLinkState up']]);
      expect(world.row(id).events.find((e) => e.type === 'link.changed')?.message).toBe('applied: a carries 10.1.0.0/24, 10.9.0.0/24 (was 10.1.0.0/24)');
      expect(world.agent('b').configs.get(name)).toMatchObject({ version: 2, remoteTs: wider });
      expect(await handle.query(statusQuery)).toMatchObject({ phase: 'up', configVersion: 2 });
    });
  });

  it('rolls a CIDR change back when an end refuses it: CIDRs restored, the old selectors pushed again, up with the reason', async () => {
    await withLink({}, async ({ world, id, name, handle }) => {
      await state(world, id).toBe('up');
      const mark = world.log.length;
      const wider = [...A, '10.9.0.0/24'];
      world.agent('b').refuse = (config) => (config.remoteTs.includes('10.9.0.0/24') ? 'invalid traffic selector' : undefined);
      world.row(id).cidrs.a = wider;
      await handle.signal(reconfigureSignal, { reason: 'cidrs' });
      await expect.poll(() => events(world, id), { timeout: 10_000, interval: 20 }).toContain('link.rolled_back');
      expectSteps(world.steps().slice(mark), [
        ['planLink'],
        ['setLinkState updating'],
        [push('a', 2, wider, B), push('b', 2, B, wider)],
        ['revertLinkCidrs 10.1.0.0/24 10.2.0.0/24'],
        [push('a', 3, A, B), push('b', 3, B, A)],
        ['initiateLink a restart'],
        ['setLinkState up'],
      ]);
      expect(world.row(id)).toMatchObject({ state: 'up', cidrs: { a: A, b: B } });
      expect(world.row(id).reason).toMatch(/^CIDR change rolled back: config push to b: loading connection '.*' failed: invalid traffic selector$/);
      expect(events(world, id)).toEqual(expect.arrayContaining(['link.changing', 'cidr.reverted', 'link.rolled_back']));
      // Both ends run the old selectors again, under a newer version.
      expect(world.agent('a').configs.get(name)).toMatchObject({ version: 3, localTs: A, remoteTs: B });
      expect(world.agent('b').installed.has(name)).toBe(true);
    });
  });

  it('rolls a CIDR change back when the tunnel does not come up with it (three attempts)', async () => {
    await withLink({}, async ({ world, id, handle }) => {
      await state(world, id).toBe('up');
      const mark = world.log.length;
      const wider = [...A, '10.9.0.0/24'];
      world.agent('a').initiateFails = (config) => config.localTs.includes('10.9.0.0/24');
      world.row(id).cidrs.a = wider;
      await handle.signal(reconfigureSignal, { reason: 'cidrs' });
      await expect.poll(() => events(world, id), { timeout: 15_000, interval: 20 }).toContain('link.rolled_back');
      const attempts = ['initiateLink a restart', 'recordEvent tunnel.initiate_failed'];
      expect(windows(world.steps().slice(mark), [
        ['planLink'],
        ['setLinkState updating'],
        [push('a', 2, wider, B), push('b', 2, B, wider)],
        ...[attempts, attempts, attempts].map((x) => [...x]),
        ['revertLinkCidrs 10.1.0.0/24 10.2.0.0/24'],
        [push('a', 3, A, B), push('b', 3, B, A)],
        ['initiateLink a restart'],
        ['setLinkState up'],
      ]).flat()).toEqual([
        'planLink',
        'setLinkState updating',
        push('a', 2, wider, B),
        push('b', 2, B, wider),
        ...attempts,
        ...attempts,
        ...attempts,
        'revertLinkCidrs 10.1.0.0/24 10.2.0.0/24',
        push('a', 3, A, B),
        push('b', 3, B, A),
        'initiateLink a restart',
        'setLinkState up',
      ]);
      expect(world.row(id).reason).toMatch(/^CIDR change rolled back: the tunnel did not come up with the new configuration/);
      expect(world.row(id).events.filter((e) => e.type === 'tunnel.initiate_failed').map((e) => e.message)).toEqual([
        'attempt 1 of 3: the tunnel did not come up',
        'attempt 2 of 3: the tunnel did not come up',
        'attempt 3 of 3: the tunnel did not come up',
      ]);
    });
  });

  it('follows an end that moved (new dial address) and, when that fails, says so without rolling anything back', async () => {
    await withLink({}, async ({ world, id, name, handle }) => {
      await state(world, id).toBe('up');
      world.agent('b').endpoint = '198.51.100.22';
      await handle.signal(reconfigureSignal, { reason: 'endpoint', gatewayId: 'b' });
      await expect.poll(() => events(world, id), { timeout: 10_000, interval: 20 }).toContain('link.changed');
      expect(world.agent('a').configs.get(name)).toMatchObject({ version: 2, remoteAddrs: ['198.51.100.22'] });
      expect(world.row(id).events.find((e) => e.type === 'link.changed')?.message).toBe('applied: b is now at 198.51.100.22 (was 198.51.100.2)');
      // It moves again and its charon refuses the new config: a fact to follow later, not undone.
      world.agent('a').refuse = () => 'no such interface';
      world.agent('b').endpoint = '198.51.100.23';
      await handle.signal(reconfigureSignal, { reason: 'endpoint', gatewayId: 'b' });
      await state(world, id).toBe('failed');
      expect(world.steps()).not.toContain('revertLinkCidrs 10.1.0.0/24 10.2.0.0/24');
      expect(world.row(id).events.at(-1)).toMatchObject({ type: 'link.change_failed', message: expect.stringMatching(/^could not follow the change \(b is now at 198\.51\.100\.23 \(was 198\.51\.100\.22\)\): config push to a/) as string });
    });
  });

  it('follows tunnel reports: degraded when an end reports its CHILD_SA down, up when it is back', async () => {
    await withLink({}, async ({ world, id, handle }) => {
      await state(world, id).toBe('up');
      await handle.signal(tunnelSignal, { gatewayId: 'b', up: false, reason: 'peer gone' });
      await state(world, id).toBe('degraded');
      await handle.signal(tunnelSignal, { gatewayId: 'b', up: true });
      await state(world, id).toBe('up');
      expect(events(world, id).slice(-2)).toEqual(['tunnel.down', 'tunnel.up']);
      // Following reports calls no agent: only provisioning's two calls (push b, initiate a with its config).
      expect(world.steps().filter((l) => l.startsWith('pushLinkConfig') || l.startsWith('initiateLink'))).toHaveLength(2);
    });
  });
});
