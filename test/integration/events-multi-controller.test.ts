// Live updates across controllers: two controllers on one PostgreSQL database (each with its own
// pool and its own LISTEN connection); a change made through controller 1 reaches an event stream
// on controller 2 within 1 s, and a secret rotated through controller 1 disconnects the agent that
// controller 2 holds.
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/messages';
import { recordingLogger, startTestAgent } from '../helpers/agents';
import { pgAvailable } from '../helpers/db';
import { openSse } from '../helpers/sse';
import { missing, withStack, type GatewayOut } from '../helpers/with-stack';
import type { TestController } from '../helpers/controller';

const pg = await pgAvailable();
const needs = { controller: true, db: 'postgresql', agents: true, name: 'ev-multi' } as const;
const reason = missing(needs, 'multi-controller event tests') ?? (pg ? undefined : 'PostgreSQL is not available');

describe.skipIf(reason)('event stream and revocations across two controllers on PostgreSQL', () => {
  const s = withStack(needs);
  let two: TestController;

  it('a change made through controller 1 reaches a stream on controller 2 within 1 s', async () => {
    two = await s.controller();
    const stream = await openSse(`${two.url}/api/events`);
    await stream.next((m) => m.event === 'hello');
    const a = await s.gateway<GatewayOut & { name: string }>('multi-a', ['10.61.0.0/16']);
    const madeA = Date.now();
    const seenA = await stream.next((m) => m.event === 'gateway' && (m.data as { id: string }).id === a.id, 1000);
    expect(seenA.at - madeA).toBeLessThan(1000);
    const b = await s.gateway('multi-b', ['10.62.0.0/16']);
    const created = await s.api<{ id: string }>('POST', '/api/links', { a: a.id, b: b.id });
    expect(created.status).toBe(202);
    const madeLink = Date.now();
    const seenLink = await stream.next((m) => m.event === 'link' && (m.data as { id: string }).id === created.body.id, 1000);
    expect(seenLink.at - madeLink).toBeLessThan(1000);
    expect((seenLink.data as { link: { a: { name: string } } }).link.a.name).toBe('multi-a');
    const renamed = await s.api('PATCH', `/api/gateways/${a.id}`, { name: 'multi-a2' });
    expect(renamed.status).toBe(200);
    const madeRename = Date.now();
    const seenRename = await stream.next((m) => m.event === 'link' && (m.data as { link: { a: { name: string } } | null }).link?.a.name === 'multi-a2', 1000);
    expect(seenRename.at - madeRename).toBeLessThan(1000);
    stream.close();
  });

  it('a secret rotated through controller 1 disconnects the agent held by controller 2', async () => {
    const g = await s.gateway('multi-agent', ['10.63.0.0/16']);
    const rec = recordingLogger();
    const agent = s.track(await startTestAgent({ controllerUrl: two.agentUrl, gatewayId: g.id, secret: g.agentSecret, driver: s.net.driver('198.51.100.63'), publicIp: '198.51.100.63', log: rec.log, backoff: { minMs: 50, maxMs: 3000 } }));
    await expect.poll(async () => (await s.api<{ controller: string | null; online: boolean }>('GET', `/api/gateways/${g.id}`)).body.controller, { timeout: 10_000 }).toBe(two.instanceId);
    expect((await s.api('POST', `/api/gateways/${g.id}/secret`)).status).toBe(200);
    await expect.poll(() => rec.records.some((r) => r.fields.code === CloseCode.secretRotated), { timeout: 2000 }).toBe(true);
    await agent.stop();
  });
});
