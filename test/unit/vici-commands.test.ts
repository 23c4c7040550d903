// The typed VICI helpers: what they put on the wire, what they parse, and the link config builder.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ViciClient } from '../../agent/vici/client';
import { PacketType, ViciStreamDecoder, type ViciMessage, type ViciPacket } from '../../agent/vici/codec';
import * as vici from '../../agent/vici/commands';
import { FakeCharon, defaultHandler } from '../fixtures/vici/fake-charon';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'vici');
const captured = (name: string): ViciPacket[] => new ViciStreamDecoder().push(fs.readFileSync(path.join(FIXTURES, name)));

describe('buildLinkConn / buildLinkShared', () => {
  const base: vici.LinkConnSpec = {
    name: 'link-42',
    localId: 'gw-1',
    remoteId: 'gw-2',
    remoteAddrs: ['203.0.113.20'],
    localTs: ['10.1.0.0/24'],
    remoteTs: ['10.2.0.0/24'],
    initiator: true,
  };

  it('builds an IKEv2 PSK conn with explicit ids, %any locally, mobike and a same-named child', () => {
    const msg = vici.buildLinkConn(base);
    expect(Object.keys(msg)).toEqual(['link-42']);
    const conn = msg['link-42'] as ViciMessage;
    expect(conn).toMatchObject({
      version: '2',
      local_addrs: ['%any'],
      remote_addrs: ['203.0.113.20'],
      mobike: 'yes',
      encap: 'no',
      keyingtries: '0',
      local: { auth: 'psk', id: 'gw-1' },
      remote: { auth: 'psk', id: 'gw-2' },
    });
    expect(conn.proposals).toEqual([...vici.IKE_PROPOSALS]);
    expect(conn.dpd_delay).toBe('10s');
    const child = (conn.children as ViciMessage)['link-42'] as ViciMessage;
    expect(child).toMatchObject({
      mode: 'tunnel',
      local_ts: ['10.1.0.0/24'],
      remote_ts: ['10.2.0.0/24'],
      dpd_action: 'restart',
      start_action: 'none',
    });
    expect(child.esp_proposals).toEqual([...vici.ESP_PROPOSALS]);
  });

  it('lets the responder clear dead tunnels and honours explicit local addresses', () => {
    const conn = vici.buildLinkConn({ ...base, initiator: false, localAddrs: ['172.31.0.10'], dpdDelaySeconds: 3 })['link-42'] as ViciMessage;
    expect(conn.local_addrs).toEqual(['172.31.0.10']);
    expect(conn.dpd_delay).toBe('3s');
    expect(conn.keyingtries).toBe('1');
    expect(((conn.children as ViciMessage)['link-42'] as ViciMessage).dpd_action).toBe('clear');
  });

  it('builds the PSK with both owners and the conn name as id', () => {
    expect(vici.buildLinkShared({ name: 'link-42', localId: 'gw-1', remoteId: 'gw-2', psk: 's3cret' })).toEqual({
      id: 'link-42',
      type: 'IKE',
      data: 's3cret',
      owners: ['gw-1', 'gw-2'],
    });
  });
});

describe('command helpers on the wire', () => {
  let fake: FakeCharon;
  let client: ViciClient;

  beforeEach(async () => {
    fake = await FakeCharon.start();
    client = await ViciClient.connect(fake.socketPath);
  });

  afterEach(async () => {
    await client.close();
    await fake.stop();
  });

  const sent = (): ViciPacket[] => fake.received.filter((p) => p.type === PacketType.CMD_REQUEST);

  it('sends initiate, terminate, load/unload with the documented argument names', async () => {
    await vici.initiate(client, { child: 'l1', ike: 'l1', timeoutMs: 3_000, initLimits: false });
    await vici.terminate(client, { ike: 'l1', force: true, timeoutMs: -1 });
    await vici.loadShared(client, { id: 'l1', data: 'psk', owners: ['a', 'b'] });
    await vici.unloadShared(client, 'l1');
    await vici.loadConn(client, { l1: { version: '2' } });
    await vici.unloadConn(client, 'l1');
    expect(sent()).toEqual([
      { type: 0, name: 'initiate', message: { child: 'l1', ike: 'l1', timeout: '3000', 'init-limits': 'no' } },
      { type: 0, name: 'terminate', message: { ike: 'l1', force: 'yes', timeout: '-1' } },
      { type: 0, name: 'load-shared', message: { id: 'l1', type: 'IKE', data: 'psk', owners: ['a', 'b'] } },
      { type: 0, name: 'unload-shared', message: { id: 'l1' } },
      { type: 0, name: 'load-conn', message: { l1: { version: '2' } } },
      { type: 0, name: 'unload-conn', message: { name: 'l1' } },
    ]);
  });

  it('parses list-sas from a captured stream', async () => {
    const stream = captured('list-sas-stream.bin');
    fake.handler = (p, conn) => (p.type === PacketType.CMD_REQUEST ? conn.send(...stream) : defaultHandler(p, conn));
    const [sa] = await vici.listSas(client, { ike: 'link1' });
    expect(sent()[0]).toEqual({ type: 0, name: 'list-sas', message: { ike: 'link1' } });
    expect(sa?.childSas[0]).toMatchObject({ name: 'link1', state: 'INSTALLED', encap: true });
  });

  it('parses list-conns and get-conns', async () => {
    const stream = captured('list-conns-stream.bin');
    fake.handler = (p, conn) => {
      if (p.type === PacketType.CMD_REQUEST && p.name === 'get-conns') conn.send({ type: PacketType.CMD_RESPONSE, message: { conns: ['link1'] } });
      else if (p.type === PacketType.CMD_REQUEST) conn.send(...stream);
      else defaultHandler(p, conn);
    };
    expect(await vici.listConns(client)).toEqual([
      {
        name: 'link1',
        version: 'IKEv2',
        localAddrs: ['%any'],
        remoteAddrs: ['203.0.113.20'],
        children: [{ name: 'link1', mode: 'TUNNEL', localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'] }],
      },
    ]);
    expect(await vici.getConns(client)).toEqual(['link1']);
  });

  it('parses version', async () => {
    const [reply] = captured('version-response.bin');
    fake.handler = (_p, conn) => conn.send(reply as ViciPacket);
    expect(await vici.version(client)).toMatchObject({ daemon: 'charon', machine: 'x86_64' });
  });
});
