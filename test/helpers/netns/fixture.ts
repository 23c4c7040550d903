// A throw-away "internet" of network namespaces with one IPsec gateway (charon) and one LAN host
// per site, and optionally an HTTP CONNECT proxy, for e2e tests and benchmarks. See topology.ts for
// the shape. Everything it creates is named after the fixture id, so destroy() and sweepStale(id)
// find all of it.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import { ViciClient, type ViciClientOptions } from '../../../agent/vici/client';
import { CharonProcess, charonPaths, prepareCharonDir } from './charon';
import { run, type RunResult } from './exec';
import { HostHelper, type ReadResult, type StreamResult } from './host-helper';
import { assertFixtureId, baseDirFor, defaultControllerIp, ipToInt, planProxy, planSites, type NatKind, type ProxyPlan, type ProxySpec, type SitePlan, type SiteSpec } from './plan';
import { prepareProxyDir, proxyPaths, TinyproxyProcess } from './proxy';
import { sweepStale, sweepStaleSync } from './sweep';
import { allNamespaces, buildTopology, movePublicIp } from './topology';

export interface NetFixtureOptions {
  /** Short unique prefix for namespace/link names: [a-z0-9], at most 6 characters. */
  id: string;
  sites: SiteSpec[];
  /** Root-namespace address on the fixture's internet; defaults to one in 198.18.0.0/15 derived from id. */
  controllerIp?: string;
  /** Runs an HTTP CONNECT proxy (tinyproxy) on the internet with this address; started by create(). */
  proxy?: ProxySpec;
}

/** Where in a site a helper runs: the LAN host, or the gateway (where charon and the agent are). */
export type Where = 'host' | 'gw';

export interface ProxyInfo {
  readonly publicIp: string;
  readonly port: number;
  /** `http://<publicIp>:<port>`: what HTTPS_PROXY / HTTP_PROXY take. */
  readonly url: string;
  readonly ns: string;
  /** tinyproxy.conf, tinyproxy.log (every CONNECT), tinyproxy.out. */
  readonly dir: string;
  readonly log: string;
}

export interface SiteInfo {
  readonly name: string;
  /** Namespace of the gateway (charon and the agent run here). */
  readonly gwNs: string;
  /** Namespace of the LAN host (TCP servers and probes run here). */
  readonly hostNs: string;
  /** Namespace of the NAT in front of the gateway; only for sites behind a NAT (either kind). */
  readonly natNs: string | undefined;
  /** True for both NAT kinds: the gateway holds only its private 172.31.<i>.10. */
  readonly behindNat: boolean;
  /** 'none' (public address on the gateway), 'one-to-one' (behindNat: true) or 'masquerade' (outbound only). */
  readonly nat: NatKind;
  /** The gateway namespace drops everything to the controller address; use the proxy (proxyEnv()). */
  readonly onlyThroughProxy: boolean;
  readonly hostIp: string;
  readonly gwLanIp: string;
  readonly lanCidr: string;
  /** The address peers dial; changes with changePublicIp(). */
  readonly publicIp: string;
  /** The address on the gateway's own uplink: publicIp, or a private 172.31.x.10 behind either NAT. */
  readonly gwUplinkIp: string;
  readonly viciSocket: string;
  /** The site's directory: strongswan.conf, charon.log, charon.vici, run/. */
  readonly dir: string;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdio?: StdioOptions;
}

interface SiteState {
  plan: SitePlan;
  publicIp: string;
  charon: CharonProcess;
}

export class NetFixture {
  private readonly states = new Map<string, SiteState>();
  /** One helper per namespace that needed one, keyed by namespace. */
  private readonly helpers = new Map<string, Promise<HostHelper>>();
  private readonly proxyProcess: TinyproxyProcess | undefined;
  private readonly children = new Set<ChildProcess>();
  private readonly clients = new Set<ViciClient>();
  private readonly exitHandler = (): void => sweepStaleSync(this.id);
  private destroying: Promise<void> | undefined;

  private constructor(
    readonly id: string,
    /** Root-namespace address reachable from every gateway (the controller under test listens here). */
    readonly controllerIp: string,
    plans: readonly SitePlan[],
    private readonly proxyPlan: ProxyPlan | undefined,
  ) {
    for (const plan of plans) {
      this.states.set(plan.spec.name, { plan, publicIp: plan.spec.publicIp, charon: new CharonProcess(plan.gwNs, charonPaths(plan.dir)) });
    }
    if (proxyPlan !== undefined) this.proxyProcess = new TinyproxyProcess(proxyPlan, proxyPaths(proxyPlan.dir));
  }

  /**
   * Builds namespaces, links, addresses, routes, NAT and firewall rules for the sites, and starts
   * the proxy if one is asked for; charons are started separately.
   */
  static async create(opts: NetFixtureOptions): Promise<NetFixture> {
    assertFixtureId(opts.id);
    const plans = planSites(opts.id, opts.sites);
    const proxyPlan = opts.proxy === undefined ? undefined : planProxy(opts.id, opts.proxy, plans);
    const controllerIp = opts.controllerIp ?? defaultControllerIp(opts.id);
    ipToInt(controllerIp);
    // Leftovers of a crashed run with the same id would make every `add` below fail.
    await sweepStale(opts.id);
    const fixture = new NetFixture(opts.id, controllerIp, plans, proxyPlan);
    process.once('exit', fixture.exitHandler);
    try {
      for (const plan of plans) prepareCharonDir(charonPaths(plan.dir));
      if (proxyPlan !== undefined) prepareProxyDir(proxyPlan);
      await buildTopology(opts.id, controllerIp, plans, proxyPlan);
      await fixture.proxyProcess?.start();
    } catch (err) {
      await fixture.destroy();
      throw err;
    }
    return fixture;
  }

  /** Addresses, namespaces and paths of one site. */
  site(name: string): SiteInfo {
    const { plan, publicIp } = this.state(name);
    return {
      name,
      gwNs: plan.gwNs,
      hostNs: plan.hostNs,
      natNs: plan.natNs,
      behindNat: plan.nat !== 'none',
      nat: plan.nat,
      onlyThroughProxy: plan.spec.onlyThroughProxy === true,
      hostIp: plan.hostIp,
      gwLanIp: plan.gwLanIp,
      lanCidr: plan.spec.lanCidr,
      publicIp,
      gwUplinkIp: plan.natNs === undefined ? publicIp : plan.gwUplinkIp,
      viciSocket: charonPaths(plan.dir).vici,
      dir: plan.dir,
    };
  }

  /** All sites, in the order given to create(). */
  get sites(): SiteInfo[] {
    return [...this.states.keys()].map((name) => this.site(name));
  }

  /** Every namespace this fixture owns (for assertions and debugging). */
  namespaces(): string[] {
    return allNamespaces(
      this.id,
      [...this.states.values()].map((s) => s.plan),
      this.proxyPlan,
    );
  }

  /** The proxy's address, port, URL and files; undefined without a `proxy` option. */
  get proxy(): ProxyInfo | undefined {
    const plan = this.proxyPlan;
    if (plan === undefined || this.proxyProcess === undefined) return undefined;
    return { publicIp: plan.publicIp, port: plan.port, url: `http://${plan.publicIp}:${plan.port}`, ns: plan.ns, dir: plan.dir, log: this.proxyProcess.paths.log };
  }

  /** `http://<proxy ip>:<port>`; throws if the fixture has no proxy. */
  get proxyUrl(): string {
    return this.requireProxy().url;
  }

  /**
   * Environment that sends an agent through the proxy: HTTPS_PROXY and HTTP_PROXY (both spellings)
   * set to proxyUrl, NO_PROXY emptied so nothing inherited from the test runner bypasses it.
   */
  proxyEnv(): Record<string, string> {
    const url = this.proxyUrl;
    return { HTTPS_PROXY: url, https_proxy: url, HTTP_PROXY: url, http_proxy: url, NO_PROXY: '', no_proxy: '' };
  }

  /** The pid of tinyproxy, if running. */
  get proxyPid(): number | undefined {
    return this.proxyProcess?.pid;
  }

  /** Starts the proxy again after stopProxy()/killProxy(); resolves once it accepts connections. */
  async startProxy(): Promise<void> {
    this.requireProxy();
    await this.proxyProcess?.start();
  }

  /** Stops the proxy (SIGTERM): tunnels through it close. A no-op if not running. */
  async stopProxy(): Promise<void> {
    await this.proxyProcess?.stop();
  }

  /** Kills the proxy with SIGKILL, like a crash. */
  async killProxy(): Promise<void> {
    await this.proxyProcess?.kill();
  }

  /** The last lines of tinyproxy's output and log (one `CONNECT` line per tunnel), for assertion messages. */
  proxyLog(lines = 40): string {
    return this.proxyProcess?.logTail(lines) ?? '';
  }

  /** Starts the site's charon and resolves once its VICI socket answers. */
  async startCharon(name: string): Promise<void> {
    await this.state(name).charon.start();
  }

  /** Stops the site's charon (SIGTERM, SIGKILL after a grace period); a no-op if not running. */
  async stopCharon(name: string): Promise<void> {
    await this.state(name).charon.stop();
  }

  /** Stops and starts the site's charon; loaded conns and SAs are gone afterwards. */
  async restartCharon(name: string): Promise<void> {
    await this.stopCharon(name);
    await this.startCharon(name);
  }

  /** Kills charon with SIGKILL, as a crash would (no SA deletes sent to the peer). */
  async killCharon(name: string): Promise<void> {
    await this.state(name).charon.kill();
  }

  /** The pid of the site's charon, if running. */
  charonPid(name: string): number | undefined {
    return this.state(name).charon.pid;
  }

  /** The last lines of the site's charon log, for assertion messages. */
  charonLog(name: string, lines = 40): string {
    return this.state(name).charon.logTail(lines);
  }

  /** A VICI client on the site's charon, closed by destroy(). */
  async vici(name: string, opts?: ViciClientOptions): Promise<ViciClient> {
    const client = await ViciClient.connect(this.site(name).viciSocket, opts);
    this.clients.add(client);
    client.once('close', () => this.clients.delete(client));
    return client;
  }

  /** Runs a process inside the site's gateway namespace (e.g. our agent); destroy() kills it. */
  spawnInGateway(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return this.spawnIn(this.site(name).gwNs, command, args, opts);
  }

  /** Runs a process inside the site's LAN host namespace; destroy() kills it. */
  spawnInHost(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return this.spawnIn(this.site(name).hostNs, command, args, opts);
  }

  /** Runs a command to completion in one of the site's namespaces (e.g. `ip route`). */
  async exec(name: string, where: 'gw' | 'host' | 'nat', command: string, args: readonly string[]): Promise<RunResult> {
    const site = this.site(name);
    const ns = where === 'gw' ? site.gwNs : where === 'host' ? site.hostNs : site.natNs;
    if (ns === undefined) throw new Error(`site ${name} has no NAT namespace`);
    return run('ip', ['netns', 'exec', ns, command, ...args]);
  }

  /** Starts a TCP server on the site's LAN host (or gateway) that answers every connection with one byte. */
  async tcpServer(name: string, port: number, where: Where = 'host'): Promise<void> {
    await (await this.helper(name, where)).listen(port);
  }

  /** Starts a TCP echo server on the site's LAN host (or gateway). */
  async echoServer(name: string, port: number, where: Where = 'host'): Promise<void> {
    await (await this.helper(name, where)).echo(port);
  }

  /**
   * Starts a TCP server on the site's LAN host (or gateway) that answers every connection with the
   * client's address as text and closes: read it with tcpRead() to see what a NAT made of a source.
   */
  async peerAddressServer(name: string, port: number, where: Where = 'host'): Promise<void> {
    await (await this.helper(name, where)).whoami(port);
  }

  /** Keeps one TCP connection from the site's LAN host (or gateway) busy for durationMs, checking every echoed byte. */
  async tcpStream(fromSite: string, toIp: string, port: number, durationMs: number, from: Where = 'host'): Promise<StreamResult> {
    return (await this.helper(fromSite, from)).stream(toIp, port, durationMs);
  }

  /** Connects from the site's LAN host (or gateway); true if a byte came back within timeoutMs. */
  async tcpProbe(fromSite: string, toIp: string, port: number, timeoutMs: number, from: Where = 'host'): Promise<boolean> {
    return (await (await this.helper(fromSite, from)).probe(toIp, port, timeoutMs)).ok;
  }

  /**
   * Connects from the site's LAN host (or gateway) and reads until the server closes: `data` is what
   * it sent, ok if at least one byte came before the close. viaProxy tunnels the connection through
   * the fixture's proxy with HTTP CONNECT (ok then also needs the proxy's 200).
   */
  async tcpRead(fromSite: string, toIp: string, port: number, opts: { timeoutMs: number; from?: Where; viaProxy?: boolean }): Promise<ReadResult> {
    const proxy = opts.viaProxy === true ? this.requireProxy() : undefined;
    const helper = await this.helper(fromSite, opts.from ?? 'host');
    return helper.read(toIp, port, opts.timeoutMs, proxy === undefined ? undefined : { ip: proxy.publicIp, port: proxy.port });
  }

  /**
   * Probes from the site's LAN host (or gateway) every intervalMs (attempts overlap) and resolves
   * with the ms until the first success; rejects after timeoutMs.
   */
  async waitForTcp(fromSite: string, toIp: string, port: number, opts: { timeoutMs: number; intervalMs: number; from?: Where }): Promise<number> {
    const helper = await this.helper(fromSite, opts.from ?? 'host');
    const result = await helper.wait(toIp, port, opts.timeoutMs, opts.intervalMs, Math.max(1_000, opts.intervalMs * 4));
    if (!result.ok) {
      throw new Error(`no TCP answer from ${toIp}:${port} (from ${fromSite}) within ${opts.timeoutMs} ms: ${result.error ?? 'unknown'}`);
    }
    return result.ms;
  }

  /**
   * Moves the site to a new public address (on the gateway, or on its NAT); routes follow. Behind a
   * masquerading NAT this is the ISP handing out a new address: new flows leave from newIp, and
   * the conntrack entries of the old address are gone when this resolves, so flows bound to the
   * old mapping (TCP, IKE/NAT-T) break as they would for real.
   */
  async changePublicIp(name: string, newIp: string): Promise<void> {
    const state = this.state(name);
    ipToInt(newIp);
    for (const other of this.states.values()) {
      if (other.publicIp === newIp) throw new Error(`${newIp} is already the public IP of ${other.plan.spec.name}`);
    }
    if (this.proxyPlan?.publicIp === newIp) throw new Error(`${newIp} is already the public IP of the proxy`);
    await movePublicIp(this.id, this.controllerIp, state.plan, state.publicIp, newIp);
    state.publicIp = newIp;
  }

  /** Kills every process, deletes every namespace, link and directory; idempotent, never throws on leftovers. */
  async destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    await Promise.allSettled([
      ...[...this.clients].map(async (c) => c.close()),
      ...[...this.helpers.values()].map(async (h) => (await h).stop()),
      ...[...this.children].map(async (c) => stopChild(c)),
      ...[...this.states.values()].map(async (s) => s.charon.stop()),
      this.proxyProcess?.stop(),
    ]);
    // Whatever is still inside a namespace is killed here, then the namespaces and links go.
    await sweepStale(this.id);
    process.off('exit', this.exitHandler);
    if (fs.existsSync(baseDirFor(this.id))) throw new Error(`fixture directory ${baseDirFor(this.id)} survived destroy()`);
  }

  private state(name: string): SiteState {
    const state = this.states.get(name);
    if (state === undefined) throw new Error(`no site "${name}" in fixture ${this.id}`);
    return state;
  }

  private requireProxy(): ProxyInfo {
    const proxy = this.proxy;
    if (proxy === undefined) throw new Error(`fixture ${this.id} has no proxy: pass \`proxy: { publicIp }\` to NetFixture.create()`);
    return proxy;
  }

  private async helper(name: string, where: Where = 'host'): Promise<HostHelper> {
    const site = this.site(name);
    const ns = where === 'gw' ? site.gwNs : site.hostNs;
    let helper = this.helpers.get(ns);
    if (helper === undefined) {
      if (this.destroying) throw new Error(`fixture ${this.id} is being destroyed`);
      helper = HostHelper.start(ns);
      this.helpers.set(ns, helper);
    }
    return helper;
  }

  private spawnIn(ns: string, command: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
    if (this.destroying) throw new Error(`fixture ${this.id} is being destroyed`);
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: opts.stdio ?? 'pipe',
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }
}

async function stopChild(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
