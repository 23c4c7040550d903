// The namespace fixture end to end: an on-prem site (public address on the gateway) and a cloud
// site (gateway behind 1:1 NAT), isolated until a PSK tunnel loaded over VICI connects their LANs.
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViciClient } from '../../agent/vici/client';
import * as vici from '../../agent/vici/commands';
import { run } from '../helpers/netns/exec';
import { NetFixture, netnsSupport } from '../helpers/netns/index';

const support = await netnsSupport();
if (!support.ok) console.warn(`[netns integration] skipped: ${support.reason}`);

const ID = 'nst';
const PORT = 7200;
const CONTROLLER_PORT = 7201;
const timings: Record<string, number> = {};

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round((performance.now() - start) * 10) / 10;
  }
}

async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
}

const rootForwarding = (): string => fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

describe.runIf(support.ok)('network-namespace fixture', () => {
  let f: NetFixture;
  let forwardingBefore: string;
  let onprem: ViciClient;
  let cloud: ViciClient;

  beforeAll(async () => {
    forwardingBefore = rootForwarding();
    f = await timed('fixture up', async () =>
      NetFixture.create({
        id: ID,
        sites: [
          { name: 'onprem', publicIp: '198.51.100.10', lanCidr: '10.1.0.0/24' },
          { name: 'cloud', publicIp: '203.0.113.20', lanCidr: '10.2.0.0/24', behindNat: true },
        ],
      }),
    );
  });

  afterAll(async () => {
    await f?.destroy();
    console.log(`[netns integration] timings (ms): ${JSON.stringify(timings)}`);
  });

  it('builds the two site shapes without touching root forwarding', async () => {
    expect(await namespacesWithPrefix(ID)).toEqual(expect.arrayContaining(f.namespaces()));
    expect(f.namespaces()).toHaveLength(6); // inet + 2×(gw, host) + 1 nat
    const cloudSite = f.site('cloud');
    expect(cloudSite).toMatchObject({ behindNat: true, publicIp: '203.0.113.20', hostIp: '10.2.0.2', gwLanIp: '10.2.0.1' });
    expect(cloudSite.gwUplinkIp).toMatch(/^172\.31\./);
    const gwAddrs = (await f.exec('cloud', 'gw', 'ip', ['-4', '-o', 'addr'])).stdout;
    expect(gwAddrs).not.toContain('203.0.113.20'); // the cloud gateway only sees its private address
    expect((await f.exec('onprem', 'gw', 'ip', ['-4', '-o', 'addr'])).stdout).toContain('198.51.100.10/32');
    expect((await f.exec('onprem', 'gw', 'cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim()).toBe('1');
    expect(rootForwarding()).toBe(forwardingBefore);
  });

  it('lets every gateway reach the controller address, the NAT one with its public source', async () => {
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push(s.remoteAddress ?? '');
      s.end('k');
    });
    await new Promise<void>((resolve) => server.listen(CONTROLLER_PORT, f.controllerIp, resolve));
    try {
      const dial = `const s=require('net').connect(${CONTROLLER_PORT},'${f.controllerIp}');s.on('data',()=>process.exit(0));s.on('error',e=>{console.error(e.message);process.exit(1)});setTimeout(()=>process.exit(2),3000)`;
      for (const site of ['onprem', 'cloud']) await f.exec(site, 'gw', process.execPath, ['-e', dial]);
      expect(seen).toEqual(['198.51.100.10', '203.0.113.20']);
    } finally {
      server.close();
    }
  });

  it('keeps the LANs apart while there is no tunnel', async () => {
    await Promise.all([f.tcpServer('onprem', PORT), f.tcpServer('cloud', PORT)]);
    // Each host reaches its own LAN's server, so the probe itself works…
    expect(await f.tcpProbe('cloud', f.site('cloud').hostIp, PORT, 1_000)).toBe(true);
    // …but nothing forwards between LANs.
    expect(await f.tcpProbe('onprem', f.site('cloud').hostIp, PORT, 1_000)).toBe(false);
    expect(await f.tcpProbe('cloud', f.site('onprem').hostIp, PORT, 1_000)).toBe(false);
    await expect(f.exec('onprem', 'gw', 'ip', ['route', 'get', f.site('cloud').hostIp])).rejects.toThrow(/unreachable/i);
  });

  it('connects the LANs through a PSK tunnel loaded over VICI, with rising counters', async () => {
    await timed('charon start (both, parallel)', async () => Promise.all([f.startCharon('onprem'), f.startCharon('cloud')]));
    onprem = await f.vici('onprem');
    cloud = await f.vici('cloud');
    const psk = 'netns-test-psk-not-secret';
    const pair = [
      [onprem, 'onprem', 'cloud'],
      [cloud, 'cloud', 'onprem'],
    ] as const;
    for (const [client, self, peer] of pair) {
      const me = f.site(self);
      const other = f.site(peer);
      await vici.loadShared(client, vici.buildLinkShared({ name: 'l1', localId: `gw-${self}`, remoteId: `gw-${peer}`, psk }));
      await vici.loadConn(
        client,
        vici.buildLinkConn({
          name: 'l1',
          localId: `gw-${self}`,
          remoteId: `gw-${peer}`,
          remoteAddrs: [other.publicIp],
          localTs: [me.lanCidr],
          remoteTs: [other.lanCidr],
          // The cloud gateway dials out, as it would from behind a cloud NAT.
          initiator: self === 'cloud',
        }),
      );
    }
    await timed('initiate → CHILD_SA', async () => vici.initiate(cloud, { child: 'l1', ike: 'l1', timeoutMs: 10_000 }));
    timings['CHILD_SA → first TCP answer'] = Math.round(
      await f.waitForTcp('onprem', f.site('cloud').hostIp, PORT, { timeoutMs: 5_000, intervalMs: 10 }),
    );
    expect(await f.tcpProbe('cloud', f.site('onprem').hostIp, PORT, 2_000)).toBe(true);

    const [cloudSa] = await vici.listSas(cloud);
    expect(cloudSa).toMatchObject({ state: 'ESTABLISHED', natLocal: true, remoteHost: '198.51.100.10' });
    expect(cloudSa?.localHost).toBe(f.site('cloud').gwUplinkIp);
    const [onpremSa] = await vici.listSas(onprem);
    expect(onpremSa).toMatchObject({ state: 'ESTABLISHED', remoteHost: '203.0.113.20', initiator: false });
    const before = onpremSa?.childSas[0];
    expect(before).toMatchObject({ name: 'l1', state: 'INSTALLED', encap: true });

    for (let i = 0; i < 5; i++) expect(await f.tcpProbe('onprem', f.site('cloud').hostIp, PORT, 2_000)).toBe(true);
    const after = (await vici.listSas(onprem))[0]?.childSas[0];
    expect(after?.bytesIn).toBeGreaterThan(before?.bytesIn ?? 0);
    expect(after?.bytesOut).toBeGreaterThan(before?.bytesOut ?? 0);
    expect(after?.packetsIn).toBeGreaterThan(before?.packetsIn ?? 0);
  });

  it('moves public addresses (on the gateway and on the NAT) for IP-change tests', async () => {
    await f.changePublicIp('cloud', '203.0.113.21');
    await f.changePublicIp('onprem', '198.51.100.11');
    expect(f.site('cloud').publicIp).toBe('203.0.113.21');
    expect((await f.exec('onprem', 'gw', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'pub'])).stdout).not.toContain('198.51.100.10/');
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push(s.remoteAddress ?? '');
      s.end('k');
    });
    await new Promise<void>((resolve) => server.listen(CONTROLLER_PORT, f.controllerIp, resolve));
    try {
      const dial = `const s=require('net').connect(${CONTROLLER_PORT},'${f.controllerIp}');s.on('data',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),3000)`;
      for (const site of ['onprem', 'cloud']) await f.exec(site, 'gw', process.execPath, ['-e', dial]);
      expect(seen).toEqual(['198.51.100.11', '203.0.113.21']);
    } finally {
      server.close();
    }
    await expect(f.changePublicIp('cloud', '198.51.100.11')).rejects.toThrow(/already the public IP/);
  });

  it('runs processes inside a gateway with extra environment', async () => {
    const child = f.spawnInGateway('cloud', 'sh', ['-c', 'echo "$GREETING $(cat /proc/sys/net/ipv4/ip_forward)"; ip -4 -o addr show dev pub'], {
      env: { GREETING: 'hello' },
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(out).toMatch(/^hello 1\n/);
    expect(out).toContain(f.site('cloud').gwUplinkIp);
  });

  it('destroy() removes every namespace, link, process and directory, and is idempotent', async () => {
    const charonPid = f.charonPid('onprem');
    expect(charonPid).toBeDefined();
    const agentLike = f.spawnInGateway('onprem', 'sleep', ['600']);
    const agentExited = new Promise((resolve) => agentLike.once('exit', resolve));
    const dir = f.site('onprem').dir;
    await timed('destroy', async () => f.destroy());
    await f.destroy();
    expect(await namespacesWithPrefix(ID)).toEqual([]);
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
    expect(links).not.toContain(`${ID}-ctl`);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.existsSync(`/proc/${charonPid}`)).toBe(false);
    await agentExited;
    expect(rootForwarding()).toBe(forwardingBefore);
  });
});
