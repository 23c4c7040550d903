// The namespace fixture end to end: an on-prem site (public address on the gateway) and a cloud
// site (gateway behind 1:1 NAT), isolated until a PSK tunnel loaded over VICI connects their LANs;
// then sites behind a masquerading NAT, a proxy-only site, tinyproxy, and clean-up after crashes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViciClient } from '../../agent/vici/client';
import * as vici from '../../agent/vici/commands';
import { run } from '../helpers/netns/exec';
import { NetFixture, netnsSupport, proxySupport, sweepStale } from '../helpers/netns/index';

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

// ── Issue 12's shapes: a site behind a masquerading NAT (it can only initiate) and a site whose only
// way to the controller is the fixture's HTTP CONNECT proxy (tinyproxy). No controller needed: a
// plain TCP server on the controller address stands in for it.

const proxyOk = await proxySupport();
if (support.ok && !proxyOk.ok) console.warn(`[netns integration] proxy tests skipped: ${proxyOk.reason}`);

const MID = 'nsx';
const SERVE_PORT = 7300;
const ECHO_PORT = 7301;
const WHOAMI_PORT = 7302;
const PROXY_IP = '198.51.100.240';

/** A TCP server on the controller address (root namespace) that answers with the client's address. */
async function controllerWhoami(ip: string, port: number): Promise<{ seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = net.createServer((s) => {
    seen.push(s.remoteAddress ?? '');
    s.on('error', () => {});
    s.end(s.remoteAddress ?? '');
  });
  await new Promise<void>((resolve) => server.listen(port, ip, resolve));
  return { seen, close: async () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A zombie counts as gone: orphans of a killed test process wait for init to reap them. */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return !/^State:\s*Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Pids of live (non-zombie) processes whose command line or environment mention `text`. */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!alive(Number(entry))) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (cmdline.includes(text) || environ.includes(text)) found.push(Number(entry));
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return found;
}

async function pgrep(pattern: string): Promise<string> {
  return (await run('pgrep', ['-af', pattern], { allowFailure: true })).stdout.trim();
}

describe.runIf(proxyOk.ok)('masquerading NAT, proxy-only sites and the HTTP CONNECT proxy', () => {
  let f: NetFixture;
  let forwardingBefore: string;
  let controller: { seen: string[]; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    forwardingBefore = rootForwarding();
    f = await timed('masquerade+proxy fixture up (incl. tinyproxy)', async () =>
      NetFixture.create({
        id: MID,
        proxy: { publicIp: PROXY_IP },
        sites: [
          { name: 'pub', publicIp: '198.51.100.230', lanCidr: '10.21.0.0/24' },
          { name: 'masq', publicIp: '203.0.113.230', lanCidr: '10.22.0.0/24', nat: 'masquerade' },
          { name: 'masq2', publicIp: '203.0.113.231', lanCidr: '10.23.0.0/24', nat: 'masquerade' },
          { name: 'corp', publicIp: '203.0.113.233', lanCidr: '10.24.0.0/24', nat: 'masquerade', onlyThroughProxy: true },
        ],
      }),
    );
    controller = await controllerWhoami(f.controllerIp, WHOAMI_PORT);
    await Promise.all([f.peerAddressServer('pub', WHOAMI_PORT, 'gw'), f.echoServer('pub', ECHO_PORT, 'gw'), f.tcpServer('pub', SERVE_PORT)]);
  });

  afterAll(async () => {
    await controller?.close();
    await f?.destroy();
    console.log(`[netns integration] timings (ms): ${JSON.stringify(timings)}`);
  });

  it('builds masquerading sites whose gateways hold only a private address, and a proxy with its own', async () => {
    expect(f.namespaces()).toHaveLength(13); // inet + 4×(gw, host) + 3 nat + proxy
    expect(await namespacesWithPrefix(MID)).toEqual(expect.arrayContaining(f.namespaces()));
    expect(f.site('masq')).toMatchObject({ nat: 'masquerade', behindNat: true, onlyThroughProxy: false, publicIp: '203.0.113.230' });
    expect(f.site('corp')).toMatchObject({ nat: 'masquerade', onlyThroughProxy: true });
    expect(f.site('pub')).toMatchObject({ nat: 'none', behindNat: false, onlyThroughProxy: false });
    const gwAddrs = (await f.exec('masq', 'gw', 'ip', ['-4', '-o', 'addr'])).stdout;
    expect(gwAddrs).toContain(`${f.site('masq').gwUplinkIp}/24`);
    expect(gwAddrs).not.toContain('203.0.113.230');
    expect((await f.exec('masq', 'nat', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'pub'])).stdout).toContain('203.0.113.230/32');
    expect(f.proxy).toMatchObject({ publicIp: PROXY_IP, port: 3128, url: `http://${PROXY_IP}:3128` });
    expect(f.proxyUrl).toBe(`http://${PROXY_IP}:3128`);
    expect(f.proxyEnv()).toMatchObject({ HTTPS_PROXY: f.proxyUrl, HTTP_PROXY: f.proxyUrl, NO_PROXY: '' });
    expect(f.proxyPid).toBeDefined();
    expect(fs.readFileSync(path.join(f.proxy!.dir, 'tinyproxy.conf'), 'utf8')).not.toMatch(/ConnectPort|^Allow/m);
    expect(rootForwarding()).toBe(forwardingBefore);
  });

  it('rejects contradicting NAT options and a proxy address that a site holds', async () => {
    const site = { name: 'x', publicIp: '198.51.100.239', lanCidr: '10.99.0.0/24' };
    await expect(NetFixture.create({ id: 'nsbad', sites: [{ ...site, behindNat: true, nat: 'masquerade' }] })).rejects.toThrow(/contradicts/);
    await expect(NetFixture.create({ id: 'nsbad', sites: [site], proxy: { publicIp: site.publicIp } })).rejects.toThrow(/share the public IP/);
    await expect(f.changePublicIp('masq', PROXY_IP)).rejects.toThrow(/public IP of the proxy/);
  });

  it('masquerades flows the inside starts, from the gateway and from the LAN', async () => {
    const pubIp = f.site('pub').publicIp;
    const fromGw = await f.tcpRead('masq', pubIp, WHOAMI_PORT, { timeoutMs: 2_000, from: 'gw' });
    expect(fromGw).toMatchObject({ ok: true, data: '203.0.113.230' });
    const fromHost = await f.tcpRead('masq', pubIp, WHOAMI_PORT, { timeoutMs: 2_000 });
    expect(fromHost).toMatchObject({ ok: true, data: '203.0.113.230' });
    // The agent's WebSocket is such a flow: the controller address sees the public address.
    expect(await f.tcpRead('masq', f.controllerIp, WHOAMI_PORT, { timeoutMs: 2_000, from: 'gw' })).toMatchObject({ ok: true, data: '203.0.113.230' });
    // A long-lived flow keeps working through conntrack.
    const stream = await f.tcpStream('masq', pubIp, ECHO_PORT, 500, 'gw');
    expect(stream, stream.error).toMatchObject({ ok: true });
    expect(stream.echoed).toBeGreaterThan(0);
  });

  it('lets nothing in: neither a public site nor another masqueraded site can connect', async () => {
    await Promise.all([f.tcpServer('masq', SERVE_PORT, 'gw'), f.tcpServer('masq', SERVE_PORT), f.tcpServer('masq2', SERVE_PORT, 'gw')]);
    // The servers are up: the site reaches its own.
    expect(await f.tcpProbe('masq', f.site('masq').gwLanIp, SERVE_PORT, 1_000)).toBe(true);
    const probes = await timed('inbound probes (parallel, 500 ms timeouts)', async () =>
      Promise.all([
        f.tcpProbe('pub', f.site('masq').publicIp, SERVE_PORT, 500, 'gw'),
        f.tcpProbe('masq2', f.site('masq').publicIp, SERVE_PORT, 500, 'gw'),
        f.tcpProbe('masq', f.site('masq2').publicIp, SERVE_PORT, 500, 'gw'),
      ]),
    );
    expect(probes).toEqual([false, false, false]);
  });

  it('carries IKE and NAT-T started from behind the masquerade (and from the proxy-only site)', async () => {
    await timed('charon start (3, parallel)', async () => Promise.all(['pub', 'masq', 'corp'].map(async (s) => f.startCharon(s))));
    const pub = await f.vici('pub');
    for (const inside of ['masq', 'corp']) {
      const client = await f.vici(inside);
      const psk = `netns-${inside}-psk-not-secret`;
      const ids = { localId: `gw-${inside}`, remoteId: 'gw-pub' };
      await vici.loadShared(client, vici.buildLinkShared({ name: 'l1', ...ids, psk }));
      await vici.loadConn(
        client,
        vici.buildLinkConn({ name: 'l1', ...ids, remoteAddrs: ['198.51.100.230'], localTs: [f.site(inside).lanCidr], remoteTs: ['10.21.0.0/24'], initiator: true }),
      );
      const back = { localId: 'gw-pub', remoteId: `gw-${inside}` };
      await vici.loadShared(pub, vici.buildLinkShared({ name: inside, ...back, psk }));
      await vici.loadConn(
        pub,
        vici.buildLinkConn({ name: inside, ...back, remoteAddrs: [f.site(inside).publicIp], localTs: ['10.21.0.0/24'], remoteTs: [f.site(inside).lanCidr], initiator: false }),
      );
      await timed(`initiate ${inside} → CHILD_SA`, async () => vici.initiate(client, { child: 'l1', ike: 'l1', timeoutMs: 10_000 }));
      const [sa] = await vici.listSas(client);
      expect(sa).toMatchObject({ state: 'ESTABLISHED', natLocal: true, localHost: f.site(inside).gwUplinkIp });
    }
    await f.tcpServer('corp', SERVE_PORT);
    // Through the tunnels, the public site's LAN reaches the LANs behind the NAT (and back).
    await f.waitForTcp('pub', f.site('masq').hostIp, SERVE_PORT, { timeoutMs: 5_000, intervalMs: 10 });
    await f.waitForTcp('pub', f.site('corp').hostIp, SERVE_PORT, { timeoutMs: 5_000, intervalMs: 10 });
    expect(await f.tcpProbe('masq', f.site('pub').hostIp, SERVE_PORT, 2_000)).toBe(true);
    const sas = await vici.listSas(pub);
    expect(sas.map((sa) => sa.remoteHost).sort()).toEqual(['203.0.113.230', '203.0.113.233']);
  });

  it('keeps the proxy-only site off the controller address except through the proxy', async () => {
    const direct = await timed('blocked direct probes (500 ms timeouts)', async () =>
      Promise.all([f.tcpProbe('corp', f.controllerIp, WHOAMI_PORT, 500, 'gw'), f.tcpProbe('corp', f.controllerIp, WHOAMI_PORT, 500)]),
    );
    expect(direct).toEqual([false, false]);
    const viaProxy = await timed('CONNECT through tinyproxy', async () =>
      f.tcpRead('corp', f.controllerIp, WHOAMI_PORT, { timeoutMs: 3_000, from: 'gw', viaProxy: true }),
    );
    // The controller sees the proxy, not the site.
    expect(viaProxy, f.proxyLog()).toMatchObject({ ok: true, data: PROXY_IP });
    expect(fs.readFileSync(f.proxy!.log, 'utf8')).toContain(`CONNECT ${f.controllerIp}:${WHOAMI_PORT}`);
    // Other ports too (no ConnectPort limit), and from the LAN behind the gateway.
    expect(await f.tcpRead('corp', f.site('pub').publicIp, WHOAMI_PORT, { timeoutMs: 3_000, viaProxy: true })).toMatchObject({ ok: true, data: PROXY_IP });
    // A site without onlyThroughProxy still goes direct.
    expect(await f.tcpProbe('masq', f.controllerIp, WHOAMI_PORT, 2_000, 'gw')).toBe(true);
  });

  it('stops and restarts the proxy', async () => {
    const pid = f.proxyPid;
    await f.stopProxy();
    expect(f.proxyPid).toBeUndefined();
    expect(alive(pid)).toBe(false);
    const down = await f.tcpRead('corp', f.controllerIp, WHOAMI_PORT, { timeoutMs: 2_000, from: 'gw', viaProxy: true });
    expect(down).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    await timed('proxy restart', async () => f.startProxy());
    expect(await f.tcpRead('corp', f.controllerIp, WHOAMI_PORT, { timeoutMs: 3_000, from: 'gw', viaProxy: true })).toMatchObject({ ok: true });
  });

  it('changePublicIp behind the masquerade: new flows leave from the new address, old ones break', async () => {
    const pubIp = f.site('pub').publicIp;
    // A flow the inside started before the change: it must not survive the new mapping.
    const before = f.tcpStream('masq', pubIp, ECHO_PORT, 3_000, 'gw');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await timed('changePublicIp (masquerade)', async () => f.changePublicIp('masq', '203.0.113.232'));
    expect(f.site('masq').publicIp).toBe('203.0.113.232');
    const conntrack = (await f.exec('masq', 'nat', 'cat', ['/proc/net/nf_conntrack'])).stdout;
    expect(conntrack).not.toContain('203.0.113.230 ');
    expect(await f.tcpRead('masq', pubIp, WHOAMI_PORT, { timeoutMs: 2_000, from: 'gw' })).toMatchObject({ ok: true, data: '203.0.113.232' });
    expect(await f.tcpRead('masq', f.controllerIp, WHOAMI_PORT, { timeoutMs: 2_000, from: 'gw' })).toMatchObject({ ok: true, data: '203.0.113.232' });
    const broken = await before;
    expect(broken.ok, JSON.stringify(broken)).toBe(false);
    // Still nothing comes in, on the new address or the old one.
    const inbound = await Promise.all([
      f.tcpProbe('pub', '203.0.113.232', SERVE_PORT, 500, 'gw'),
      f.tcpProbe('pub', '203.0.113.230', SERVE_PORT, 500, 'gw'),
    ]);
    expect(inbound).toEqual([false, false]);
  });

  it('destroy() leaves no namespace, link, tinyproxy, charon or helper behind', async () => {
    const pids = [f.proxyPid, f.charonPid('pub'), f.charonPid('masq'), f.charonPid('corp')];
    expect(pids.every((pid) => pid !== undefined)).toBe(true);
    const base = path.dirname(f.site('pub').dir);
    expect(processesMentioning(base).length).toBeGreaterThan(0);
    await timed('destroy (masquerade+proxy)', async () => f.destroy());
    expect(await namespacesWithPrefix(MID)).toEqual([]);
    expect((await run('ip', ['-o', 'link', 'show'])).stdout).not.toContain(`${MID}-ctl`);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(processesMentioning(base)).toEqual([]);
    expect(await pgrep(base)).toBe('');
    expect(fs.existsSync(base)).toBe(false);
    expect(rootForwarding()).toBe(forwardingBefore);
  });
});

describe.runIf(proxyOk.ok)('clean-up when the test process dies', () => {
  const CID = 'nsc';
  const script = (ending: string): string => `
    // Without "type": "module", tsx loads the fixture as CommonJS: its exports sit under default.
    const mod = await import(${JSON.stringify(fileURLToPath(new URL('../helpers/netns/index.ts', import.meta.url)))});
    const { NetFixture } = mod.NetFixture === undefined ? mod.default : mod;
    const f = await NetFixture.create({ id: '${CID}', proxy: { publicIp: '198.51.100.241' }, sites: [
      { name: 'a', publicIp: '198.51.100.231', lanCidr: '10.61.0.0/24', nat: 'masquerade', onlyThroughProxy: true },
      { name: 'b', publicIp: '203.0.113.234', lanCidr: '10.62.0.0/24', behindNat: true },
    ] });
    await f.startCharon('a');
    await f.tcpServer('b', 7000);
    console.log('up ' + JSON.stringify([f.proxyPid, f.charonPid('a')]));
    ${ending}`;

  async function runChild(ending: string, kill: boolean): Promise<{ pids: number[]; code: number | null }> {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(ending)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const pids = await new Promise<number[]>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /^up (.*)$/m.exec(out);
        if (match?.[1] !== undefined) resolve(JSON.parse(match[1]) as number[]);
      });
      void exited.then((code) => reject(new Error(`child exited ${code} before the fixture was up: ${err}`)));
    });
    if (kill) child.kill('SIGKILL');
    return { pids, code: await exited };
  }

  afterAll(async () => sweepStale(CID));

  it('an uncaught error: the exit hook sweeps namespaces, tinyproxy and charon', async () => {
    const { pids, code } = await timed('crash (uncaught error) → swept', async () => runChild("throw new Error('test failed');", false));
    expect(code).not.toBe(0);
    expect(await namespacesWithPrefix(CID)).toEqual([]);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(processesMentioning(`netns-${CID}`)).toEqual([]);
  });

  it('SIGKILL: the next create() with the same id sweeps what was left', async () => {
    const { pids } = await runChild('await new Promise(() => {});', true);
    // Nothing ran after SIGKILL: the namespaces and processes are still there…
    expect((await namespacesWithPrefix(CID)).length).toBeGreaterThan(0);
    expect(alive(pids[0])).toBe(true);
    // …until a fixture with the same id comes up.
    const next = await NetFixture.create({ id: CID, sites: [{ name: 'a', publicIp: '198.51.100.231', lanCidr: '10.61.0.0/24' }] });
    try {
      for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
      expect(processesMentioning('tinyproxy.conf').filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`netns-${CID}`))).toEqual([]);
    } finally {
      await next.destroy();
    }
    expect(await namespacesWithPrefix(CID)).toEqual([]);
  });
});
