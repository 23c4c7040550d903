// Changing a running link through the real API, hub, agents and Temporal (strongSwan replaced by
// FakeIpsecNetwork): a CIDR change with its dry-run preview and its validation, a rollback when an
// end refuses the new configuration, and a gateway whose public address changes under it.
import { describe, expect, it } from 'vitest';
import { missing, withStack } from '../helpers/with-stack';
import type { ChangedLinkBody, ChangePreviewBody, ErrorResponseBody, GatewayBody, LinkBody, LinkWithEventsBody, RegisteredGatewayBody } from '../helpers/api-harness';
import { FakeMetadataServer } from '../fakes/metadata';
import { createMetadataSource } from '../../agent/metadata';
import { silentLogger } from '../../lib/log';

const needs = { controller: true, agents: true, name: 'chg' } as const;

describe.skipIf(missing(needs, 'link change tests'))('changing a running link (real Temporal, fake strongSwan)', () => {
  const s = withStack(needs);
  const gateway = (name: string, cidrs: string[]) => s.gateway<RegisteredGatewayBody>(name, cidrs);
  const runAgent = (g: RegisteredGatewayBody, address: string, extra: Parameters<typeof s.agent>[2] = {}) => s.agent(g, address, extra);

  const linkOf = async (id: string) => (await s.api<LinkWithEventsBody>('GET', `/api/links/${id}`)).body;

  async function upLink(a: RegisteredGatewayBody, b: RegisteredGatewayBody, cidrs?: { a: string[]; b: string[] }): Promise<string> {
    const r = await s.api<LinkBody>('POST', '/api/links', { a: a.id, b: b.id, ...(cidrs ? { cidrs } : {}) });
    expect(r.status).toBe(202);
    await expect.poll(async () => (await linkOf(r.body.id)).state, { timeout: 15_000 }).toBe('up');
    return r.body.id;
  }

  it('previews a CIDR change without changing anything, then applies it to both ends', async () => {
    const a = await gateway('chg-a', ['10.41.0.0/16']);
    const b = await gateway('chg-b', ['10.42.0.0/16']);
    await runAgent(a, '198.51.100.141');
    await runAgent(b, '198.51.100.142');
    const id = await upLink(a, b, { a: ['10.41.1.0/24'], b: ['10.42.1.0/24'] });
    const name = `link-${id}`;
    const da = s.net.drivers.get('198.51.100.141')!;
    const db = s.net.drivers.get('198.51.100.142')!;
    const versionBefore = da.conns.get(name)!.version;

    const plan = await s.api<ChangePreviewBody>('POST', `/api/links/${id}/plan`, { cidrs: { a: ['10.41.1.0/24', '10.41.2.0/24'] } });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({
      changed: true,
      tunnelRestart: true,
      a: { cidrs: { before: ['10.41.1.0/24'], after: ['10.41.1.0/24', '10.41.2.0/24'] }, config: { changed: true, before: { localTs: ['10.41.1.0/24'] }, after: { localTs: ['10.41.1.0/24', '10.41.2.0/24'] } } },
      b: { config: { changed: true, after: { remoteTs: ['10.41.1.0/24', '10.41.2.0/24'] } } },
    });
    expect(JSON.stringify(plan.body)).not.toContain(da.conns.get(name)!.psk);
    // A preview stores nothing and touches no agent.
    expect((await linkOf(id)).a.cidrs).toEqual(['10.41.1.0/24']);
    expect(da.conns.get(name)!.version).toBe(versionBefore);

    const r = await s.api<ChangedLinkBody>('PATCH', `/api/links/${id}`, { cidrs: { a: ['10.41.1.0/24', '10.41.2.0/24'] } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ state: 'updating', a: { cidrs: ['10.41.1.0/24', '10.41.2.0/24'] } });
    // Asked again while the change runs: refused, not queued behind it.
    expect((await s.api('PATCH', `/api/links/${id}`, { cidrs: { b: ['10.42.2.0/24'] } })).status).toBe(409);
    await expect.poll(async () => (await linkOf(id)).state, { timeout: 20_000 }).toBe('up');
    const link = await linkOf(id);
    expect(link.events.map((e) => e.type)).toEqual(expect.arrayContaining(['cidr.change_requested', 'link.changing', 'link.changed']));
    expect(da.conns.get(name)).toMatchObject({ localTs: ['10.41.1.0/24', '10.41.2.0/24'], remoteTs: ['10.42.1.0/24'] });
    expect(db.conns.get(name)).toMatchObject({ localTs: ['10.42.1.0/24'], remoteTs: ['10.41.1.0/24', '10.41.2.0/24'] });
    expect(da.conns.get(name)!.version).toBeGreaterThan(versionBefore);
    expect(da.installed.has(name) && db.installed.has(name)).toBe(true);
    // The tunnel was re-negotiated with the new selectors (the initiator restarted it).
    expect(da.calls.filter((c) => c === `initiate ${name}`).length).toBeGreaterThanOrEqual(2);

    // The same CIDRs again: nothing to do, nothing signalled.
    const same = await s.api<ChangedLinkBody>('PATCH', `/api/links/${id}`, { cidrs: { a: ['10.41.2.0/24', '10.41.1.0/24'] } });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ state: 'up', plan: { changed: false } });
  });

  it('refuses a change that cannot be right, and stores nothing', async () => {
    const a = await gateway('val-a', ['10.51.0.0/16']);
    const b = await gateway('val-b', ['10.52.0.0/16']);
    const c = await gateway('val-c', ['10.53.0.0/16']);
    await runAgent(a, '198.51.100.151');
    await runAgent(b, '198.51.100.152');
    await runAgent(c, '198.51.100.153');
    const ab = await upLink(a, b, { a: ['10.51.1.0/24'], b: ['10.52.1.0/24'] });
    const ac = await upLink(a, c, { a: ['10.51.1.0/24'], b: ['10.53.1.0/24'] });
    const before = await linkOf(ab);

    const tries: Array<[unknown, number, RegExp?]> = [
      [{ cidrs: {} }, 400, /cidrs/],
      [{ cidrs: { a: ['10.51.1.0/33'] } }, 400, /cidrs\.a/],
      [{ cidrs: { a: ['10.51.1.0/24'] }, extra: 1 }, 400],
      // Outside val-a's networks, unless explicitly allowed (checked below with the preview).
      [{ cidrs: { a: ['192.168.7.0/24'] } }, 409, /not inside the networks of val-a/],
      // Overlapping the other end.
      [{ cidrs: { a: ['10.51.0.0/16'], b: ['10.51.4.0/24'] }, allowOutsideNetworks: true }, 409, /overlap/],
      // val-a already reaches 10.53.1.0/24 through link ac: the other link is named.
      [{ cidrs: { b: ['10.53.1.0/24'] }, allowOutsideNetworks: true }, 409, new RegExp(`through link ${ac}`)],
    ];
    for (const [body, status, message] of tries) {
      const r = await s.api<ErrorResponseBody>('PATCH', `/api/links/${ab}`, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      if (message) expect(r.body.error.message).toMatch(message);
    }
    expect((await s.api('PATCH', '/api/links/nope', { cidrs: { a: ['10.51.1.0/24'] } })).status).toBe(404);
    const allowed = await s.api<ChangePreviewBody>('POST', `/api/links/${ab}/plan`, { cidrs: { b: ['10.52.1.0/24', '172.20.0.0/24'] }, allowOutsideNetworks: true });
    expect(allowed.status).toBe(200);
    expect(allowed.body.changed).toBe(true);
    const after = await linkOf(ab);
    expect({ state: after.state, a: after.a.cidrs, b: after.b.cidrs, events: after.events.length }).toEqual({ state: before.state, a: before.a.cidrs, b: before.b.cidrs, events: before.events.length });
  });

  it('rolls back to the last working configuration when an end refuses the change', async () => {
    const a = await gateway('rb-a', ['10.61.0.0/16']);
    const b = await gateway('rb-b', ['10.62.0.0/16']);
    await runAgent(a, '198.51.100.161');
    await runAgent(b, '198.51.100.162');
    const id = await upLink(a, b, { a: ['10.61.1.0/24'], b: ['10.62.1.0/24'] });
    const name = `link-${id}`;
    const db = s.net.drivers.get('198.51.100.162')!;
    // rb-b's charon will not load a connection towards 10.61.9.0/24 (say, an overlapping local policy).
    db.refuse = (l) => (l.remoteTs.includes('10.61.9.0/24') ? 'traffic selector 10.61.9.0/24 conflicts with a bypass policy' : undefined);

    expect((await s.api('PATCH', `/api/links/${id}`, { cidrs: { a: ['10.61.9.0/24'] } })).status).toBe(202);
    await expect.poll(async () => (await linkOf(id)).events.some((e) => e.type === 'link.rolled_back'), { timeout: 30_000 }).toBe(true);
    const link = await linkOf(id);
    expect(link.state).toBe('up');
    expect(link.stateReason).toMatch(/rolled back.*bypass policy/);
    expect(link.a.cidrs).toEqual(['10.61.1.0/24']);
    expect(link.events.map((e) => e.type)).toEqual(expect.arrayContaining(['cidr.reverted', 'link.rolled_back']));
    const da = s.net.drivers.get('198.51.100.161')!;
    expect(da.conns.get(name)).toMatchObject({ localTs: ['10.61.1.0/24'] });
    expect(db.conns.get(name)).toMatchObject({ remoteTs: ['10.61.1.0/24'] });
    expect(da.installed.has(name) && db.installed.has(name)).toBe(true);
    db.refuse = undefined;
  });

  it("follows a gateway's new public address: the initiator dials again from it, the responder accepts it from anywhere", async () => {
    // The moving end reads its address from the cloud metadata service, as it would on an EC2
    // instance whose Elastic IP is re-associated.
    const meta = await FakeMetadataServer.start({ cloud: 'aws', publicIp: '198.51.100.171' });
    s.onClose(() => meta.stop());
    const mover = await gateway('mv-a', ['10.71.0.0/24']);
    const fixed = await gateway('mv-b', ['10.72.0.0/24']);
    await runAgent(mover, '198.51.100.171', { metadata: createMetadataSource({ provider: 'aws', endpoint: meta.url, log: silentLogger }), addressCheckMs: 200 });
    await runAgent(fixed, '198.51.100.172');
    expect((await s.api<GatewayBody>('GET', `/api/gateways/${mover.id}`)).body.endpoint).toBe('198.51.100.171');
    // mv-a initiates: after the move its own config is unchanged, so only a restart replaces its stale SA.
    const id = await upLink(mover, fixed);
    const name = `link-${id}`;
    const dm = s.net.drivers.get('198.51.100.171')!;
    const df = s.net.drivers.get('198.51.100.172')!;
    // An address the agent reports can change under the link: the responder accepts the initiator
    // from any address (its identity and the PSK authenticate it), so a move needs no change there.
    expect(df.conns.get(name)!.remoteAddrs).toEqual(['%any']);
    const initiations = () => dm.calls.filter((c) => c === `initiate ${name}`).length;
    const initiatedBefore = initiations();

    const t0 = Date.now();
    meta.publicIp = '198.51.100.181';
    dm.moveTo('198.51.100.181');
    await expect.poll(async () => (await linkOf(id)).events.some((e) => e.type === 'link.changed'), { timeout: 15_000, interval: 50 }).toBe(true);
    // The initiator dialled again from its new address; the responder's config did not change.
    expect(initiations()).toBeGreaterThan(initiatedBefore);
    expect(df.conns.get(name)!.remoteAddrs).toEqual(['%any']);
    console.log(`public address change followed in ${Date.now() - t0} ms (fake strongSwan)`);
    expect(dm.installed.has(name) && df.installed.has(name)).toBe(true);
    const link = await linkOf(id);
    expect(link.state).toBe('up');
    expect(link.events.find((e) => e.type === 'link.changed')!.message).toMatch(/mv-a is now at 198\.51\.100\.181 \(was 198\.51\.100\.171\)/);
    expect((await s.api<GatewayBody>('GET', `/api/gateways/${mover.id}`)).body.endpoint).toBe('198.51.100.181');
  });

  it('two DELETEs racing tear the link down once; a change after a delete is refused', async () => {
    const a = await gateway('race-a', ['10.75.0.0/24']);
    const b = await gateway('race-b', ['10.76.0.0/24']);
    await runAgent(a, '198.51.100.175');
    await runAgent(b, '198.51.100.176');
    const id = await upLink(a, b);
    const [x, y] = await Promise.all([s.api('DELETE', `/api/links/${id}`), s.api('DELETE', `/api/links/${id}`)]);
    expect([x.status, y.status].sort()).toEqual(expect.arrayContaining([202]));
    expect([x.status, y.status].every((s) => s === 202 || s === 409)).toBe(true);
    expect((await s.api('PATCH', `/api/links/${id}`, { cidrs: { a: ['10.75.0.0/24'] } })).status).toBe(409);
    await expect.poll(async () => (await linkOf(id)).state, { timeout: 15_000 }).toBe('deleted');
    const events = (await linkOf(id)).events;
    expect(events.filter((e) => e.type === 'link.deleted')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'config.removed')).toHaveLength(2);
    expect((await s.api('DELETE', `/api/links/${id}`)).status).toBe(409);
  });
});
