// The VICI client against real charons (two plain sites of the namespace fixture). Root only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViciClient } from '../../agent/vici/client';
import type { ViciMessage } from '../../agent/vici/codec';
import * as vici from '../../agent/vici/commands';
import { ViciError } from '../../agent/vici/errors';
import { NetFixture, netnsSupport } from '../helpers/netns/index';

const support = await netnsSupport();
if (!support.ok) console.warn(`[vici integration] skipped: ${support.reason}`);

const PSK = 'integration-psk-not-secret';
const PORT = 7100;

describe.runIf(support.ok)('VICI client against real charon', () => {
  let f: NetFixture;
  let a: ViciClient;
  let b: ViciClient;

  beforeAll(async () => {
    f = await NetFixture.create({
      id: 'vici',
      sites: [
        { name: 'a', publicIp: '198.51.100.11', lanCidr: '10.11.0.0/24' },
        { name: 'b', publicIp: '203.0.113.12', lanCidr: '10.12.0.0/24' },
      ],
    });
    await Promise.all([f.startCharon('a'), f.startCharon('b')]);
    a = await f.vici('a');
    b = await f.vici('b');
  });

  afterAll(async () => {
    await f?.destroy();
  });

  async function loadLink(initiatorSite: 'a' | 'b'): Promise<void> {
    for (const [client, self, peer] of [
      [a, 'a', 'b'],
      [b, 'b', 'a'],
    ] as const) {
      const me = f.site(self);
      const other = f.site(peer);
      await vici.loadShared(client, { id: 'link1', data: PSK, owners: [`gw-${self}`, `gw-${peer}`] });
      await vici.loadConn(
        client,
        vici.buildLinkConn({
          name: 'link1',
          localId: `gw-${self}`,
          remoteId: `gw-${peer}`,
          remoteAddrs: [other.publicIp],
          localTs: [me.lanCidr],
          remoteTs: [other.lanCidr],
          initiator: self === initiatorSite,
        }),
      );
    }
  }

  it('reads the version', async () => {
    const v = await vici.version(a);
    expect(v.daemon).toBe('charon');
    expect(v.version).toMatch(/^5\./);
  });

  it('reports unknown commands and failed loads as ViciError', async () => {
    await expect(a.request('no-such-command')).rejects.toMatchObject({ code: 'UNKNOWN_COMMAND' });
    const bad = vici.buildLinkConn({ name: 'bad', localId: 'x', remoteId: 'y', remoteAddrs: ['198.51.100.99'], localTs: ['10.9.0.0/24'], remoteTs: ['10.8.0.0/24'], initiator: true });
    (bad.bad as ViciMessage).proposals = ['no-such-algorithm'];
    const err = await vici.loadConn(a, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ViciError);
    expect(err).toMatchObject({ code: 'COMMAND_FAILED', command: 'load-conn' });
    expect((err as ViciError).errmsg).toMatch(/proposals/);
    await expect(a.subscribe('no-such-event')).rejects.toMatchObject({ code: 'UNKNOWN_EVENT' });
  });

  it('loads a PSK conn pair and lists it', async () => {
    await loadLink('a');
    expect(await vici.getConns(a)).toEqual(['link1']);
    const [conn] = await vici.listConns(b, { ike: 'link1' });
    expect(conn).toMatchObject({ name: 'link1', version: 'IKEv2', localAddrs: ['%any'], remoteAddrs: [f.site('a').publicIp] });
    expect(conn?.children[0]).toMatchObject({ name: 'link1', localTs: ['10.12.0.0/24'], remoteTs: ['10.11.0.0/24'] });
  });

  it('initiates, receives child-updown on both sides, and counts traffic in list-sas', async () => {
    const eventsA: [string, ViciMessage][] = [];
    const eventsB: [string, ViciMessage][] = [];
    a.on('event', (name, msg) => eventsA.push([name, msg]));
    b.on('event', (name, msg) => eventsB.push([name, msg]));
    await a.subscribe('child-updown');
    await b.subscribe('child-updown');
    await b.subscribe('ike-updown');

    const started = performance.now();
    await vici.initiate(a, { child: 'link1', ike: 'link1', timeoutMs: 10_000 });
    console.log(`[vici integration] initiate → CHILD_SA established: ${(performance.now() - started).toFixed(1)} ms`);

    // charon raises events from another thread: around the initiate response, not strictly before it.
    await expect.poll(() => eventsA.some(([n, m]) => n === 'child-updown' && m.up === 'yes')).toBe(true);
    await expect.poll(() => eventsB.map(([n]) => n)).toEqual(expect.arrayContaining(['ike-updown', 'child-updown']));

    const before = await vici.listSas(a);
    const [sa] = before;
    expect(before).toHaveLength(1);
    expect(sa).toMatchObject({ name: 'link1', state: 'ESTABLISHED', localId: 'gw-a', remoteId: 'gw-b', initiator: true });
    expect(sa?.remoteHost).toBe(f.site('b').publicIp);
    expect(sa?.childSas).toHaveLength(1);
    expect(sa?.childSas[0]).toMatchObject({ name: 'link1', state: 'INSTALLED', localTs: ['10.11.0.0/24'], remoteTs: ['10.12.0.0/24'] });

    await f.tcpServer('b', PORT);
    await f.waitForTcp('a', f.site('b').hostIp, PORT, { timeoutMs: 5_000, intervalMs: 10 });
    for (let i = 0; i < 3; i++) expect(await f.tcpProbe('a', f.site('b').hostIp, PORT, 2_000)).toBe(true);
    const after = (await vici.listSas(a))[0]?.childSas[0];
    const initial = sa?.childSas[0];
    expect(after?.bytesOut).toBeGreaterThan(initial?.bytesOut ?? 0);
    expect(after?.bytesIn).toBeGreaterThan(initial?.bytesIn ?? 0);
    expect(after?.packetsOut).toBeGreaterThan(initial?.packetsOut ?? 0);
    expect(after?.packetsIn).toBeGreaterThan(initial?.packetsIn ?? 0);
    // The other side counts the same traffic the other way round.
    const responder = (await vici.listSas(b, { ike: 'link1' }))[0];
    expect(responder?.initiator).toBe(false);
    expect(responder?.childSas[0]?.bytesIn).toBeGreaterThan(0);
  });

  it('terminates: child-updown (down) arrives, SAs are gone, and conns/secrets unload', async () => {
    const downs: ViciMessage[] = [];
    b.on('event', (name, msg) => {
      if (name === 'child-updown' && msg.up !== 'yes') downs.push(msg);
    });
    await vici.terminate(a, { ike: 'link1', timeoutMs: 5_000 });
    expect(await vici.listSas(a)).toEqual([]);
    await expect.poll(() => downs.length).toBeGreaterThan(0);
    expect(await f.tcpProbe('a', f.site('b').hostIp, PORT, 300)).toBe(false);

    for (const client of [a, b]) {
      await vici.unloadConn(client, 'link1');
      await vici.unloadShared(client, 'link1');
      expect(await vici.getConns(client)).toEqual([]);
    }
    await expect(vici.unloadConn(a, 'link1')).rejects.toMatchObject({ code: 'COMMAND_FAILED' });
  });

  it('fails an in-flight request at once when charon dies, and works again after a restart', async () => {
    // A conn towards an address nobody answers on keeps initiate (timeout 0 = wait) busy.
    await vici.loadShared(a, { id: 'dead', data: PSK, owners: ['gw-a', 'gw-x'] });
    await vici.loadConn(
      a,
      vici.buildLinkConn({ name: 'dead', localId: 'gw-a', remoteId: 'gw-x', remoteAddrs: ['198.51.100.250'], localTs: ['10.11.0.0/24'], remoteTs: ['10.99.0.0/24'], initiator: true }),
    );
    const closed = new Promise<ViciError | undefined>((resolve) => a.once('close', resolve));
    const pending = vici.initiate(a, { child: 'dead', timeoutMs: 0 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const killedAt = performance.now();
    await f.killCharon('a');
    const err = await pending;
    const failedAfter = performance.now() - killedAt;
    expect(err).toMatchObject({ code: 'CLOSED' });
    expect(failedAfter).toBeLessThan(1_000);
    expect((await closed)?.code).toBe('CLOSED');

    const restartAt = performance.now();
    await f.startCharon('a');
    console.log(`[vici integration] charon restart → VICI ready: ${(performance.now() - restartAt).toFixed(1)} ms`);
    a = await f.vici('a');
    expect(await vici.getConns(a)).toEqual([]); // a restarted charon has forgotten everything
  });
});
