// The agent: keeps strongSwan holding the links the controller asked for (from disk when the
// controller is unreachable), serves the controller's requests and reports tunnel changes.
import { hostname, networkInterfaces } from 'node:os';
import type { Facts, LinkConfig, Method, Params, Result } from '../protocol/messages';
import type { Logger } from '../lib/log';
import { Mutex } from '../lib/mutex';
import type { IpsecDriver, TunnelEvent } from './driver';
import type { StateStore } from './state';
import { ControllerSession, type SessionOptions } from './session';
import type { CloudIdentity, MetadataSource } from './metadata';
import { boundedFacts, boundedText } from './facts';
import type { AgentMetrics } from './metrics';
import { HealthMonitor } from './health/monitor';
import { DEFAULT_PROBE_PORT } from './health/probe';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions {
  driver: IpsecDriver;
  state: StateStore;
  log: Logger;
  publicIp?: string;
  /** The cloud's instance metadata service, when the agent runs in a cloud. */
  metadata?: MetadataSource;
  /** How often the agent checks its addresses (interfaces, cloud metadata) for a change. */
  addressCheckMs?: number;
  session: Omit<SessionOptions, 'facts' | 'handle' | 'onConnected' | 'log' | 'metrics'>;
  /** Prometheus families for AGENT_METRICS_ADDR; none when absent. */
  metrics?: AgentMetrics;
  /** Data-plane health reports (HEALTH_INTERVAL_MS, HEALTH_PROBE_PORT); default every 10 s on UDP 4510. */
  health?: { intervalMs?: number; probePort?: number; addrs?: () => string[] };
}

export class Agent {
  private readonly ops = new Mutex();
  private readonly session: ControllerSession;
  /** Latest state per link not yet delivered to the controller. */
  private readonly unsent = new Map<string, TunnelEvent>();
  /** Re-dial timers of initiated links whose SA went away (see redialLater). */
  private readonly redials = new Map<string, NodeJS.Timeout>();
  private strongswanVersion?: string;
  /** Last good answer of the metadata service (a failed read keeps it). */
  private cloud?: CloudIdentity;
  private addressTimer?: NodeJS.Timeout;
  private lastAddresses?: string;
  private stopped = false;
  /** Links whose CHILD_SA strongSwan last reported installed (for the tunnels_up gauge). */
  private readonly up = new Set<string>();
  private readonly health: HealthMonitor;

  constructor(private readonly options: AgentOptions) {
    this.session = new ControllerSession({
      ...options.session,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      log: options.log,
      facts: () => this.facts(),
      handle: (m, p) => this.handle(m, p),
      onConnected: () => this.flushTunnelEvents(),
      onProbeTargets: (targets) => this.health.setTargets(targets),
    });
    this.health = new HealthMonitor({
      intervalMs: options.health?.intervalMs ?? 10_000,
      probePort: options.health?.probePort ?? DEFAULT_PROBE_PORT,
      ...(options.health?.addrs ? { addrs: options.health.addrs } : {}),
      links: () => options.state.links(),
      status: () => options.driver.status(),
      send: (frame) => this.session.send(frame),
      log: options.log.child({ component: 'health' }),
    });
    options.driver.onTunnel((e) => this.report(e));
    options.metrics?.watch({
      connected: () => this.session.isConnected,
      tunnelsConfigured: () => options.state.links().length,
      tunnelsUp: () => [...this.up].filter((name) => options.state.get(name)).length,
    });
    options.driver.onRestart(() => void this.ops.run(() => this.restore('charon restarted')));
  }

  /**
   * Restores saved links (without waiting for the controller), then serves the controller until
   * stopped. Rejects with AuthRejectedError (final 401) or ConfigError (no credentials).
   */
  async run(): Promise<void> {
    // Without a way to authenticate there is nothing to run for: fail before touching anything.
    await this.session.loadCredentials();
    await this.options.state.load();
    // Restoring waits for charon, but serving the controller does not: requests that need charon
    // fail fast with ipsec_unavailable until it answers, and the controller retries.
    void this.options.driver.start().then(async () => {
      this.strongswanVersion = await this.options.driver.version().catch(() => undefined);
      await this.ops.run(() => this.restore('agent start'));
    });
    // The first hello should already say where the agent is.
    await this.readMetadata();
    this.lastAddresses = this.addressKey();
    this.watchAddresses();
    this.health.start();
    await this.session.run();
  }

  /** For the status file the container's health check reads (agent/status-file.ts). */
  snapshot(): { connected: boolean; links: number; up: number } {
    return { connected: this.session.isConnected, links: this.options.state.links().length, up: [...this.up].filter((name) => this.options.state.get(name)).length };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.addressTimer);
    this.health.stop();
    for (const t of this.redials.values()) clearTimeout(t);
    this.redials.clear();
    await this.session.stop();
    await this.options.driver.close();
  }

  /** Re-applies every saved link and brings up the ones this end initiates. */
  private async restore(why: string): Promise<void> {
    const links = this.options.state.links();
    if (links.length === 0) return;
    this.options.log.info('restoring saved links', { why, count: links.length });
    for (const link of links) {
      try {
        await this.options.driver.apply(link);
      } catch (err) {
        this.options.log.error('could not restore link', { link: link.name, err });
      }
    }
    // Initiations run concurrently: one unreachable peer must not delay the others.
    await Promise.all(
      links.filter((l) => l.initiator).map((l) =>
        this.options.driver.initiate(l.name, 10_000).catch((err: unknown) => this.options.log.warn('could not initiate restored link', { link: l.name, err })),
      ),
    );
  }

  private handle(method: Method, params: unknown): Promise<unknown> {
    switch (method) {
      case 'applyLink':
        return this.ops.run(() => this.applyLink(params as Params<'applyLink'>));
      case 'removeLink':
        return this.ops.run(() => this.removeLink(params as Params<'removeLink'>));
      case 'initiate':
        return this.initiate(params as Params<'initiate'>);
      case 'status':
        return this.status();
      case 'reconcile':
        return this.ops.run(() => this.reconcile(params as Params<'reconcile'>));
    }
  }

  private async applyLink({ link }: Params<'applyLink'>): Promise<Result<'applyLink'>> {
    const held = this.options.state.get(link.name);
    if (held && held.version > link.version) {
      throw Object.assign(new Error(`link ${link.name}: config version ${link.version} is older than the applied ${held.version}`), { code: 'stale_config' });
    }
    const changed = !held || !sameLink(held, link);
    // Load first, persist second: a config charon refuses must not come back at the next start.
    await this.options.driver.apply(link);
    if (changed) await this.options.state.put(link);
    return { changed };
  }

  private async removeLink({ name }: Params<'removeLink'>): Promise<Result<'removeLink'>> {
    const held = this.options.state.get(name) !== undefined;
    await this.options.driver.remove(name);
    await this.options.state.delete(name);
    this.unsent.delete(name);
    clearTimeout(this.redials.get(name));
    this.redials.delete(name);
    return { removed: held };
  }

  private async initiate({ name, timeoutMs, restart }: Params<'initiate'>): Promise<Result<'initiate'>> {
    if (!this.options.state.get(name)) throw Object.assign(new Error(`link ${name} is not applied on this gateway`), { code: 'unknown_link' });
    return { established: await this.options.driver.initiate(name, timeoutMs ?? 10_000, restart ? { restart: true } : {}) };
  }

  private async status(): Promise<Result<'status'>> {
    return { sas: await this.options.driver.status(), links: this.options.state.links().map((l) => l.name) };
  }

  private async reconcile({ keep }: Params<'reconcile'>): Promise<Result<'reconcile'>> {
    const removed: string[] = [];
    for (const l of this.options.state.links()) {
      if (keep.includes(l.name)) continue;
      await this.removeLink({ name: l.name });
      removed.push(l.name);
    }
    return { removed };
  }

  /**
   * A link this end initiates lost its SA (the peer closed it, e.g. its charon restarted, and DPD
   * has nothing left to probe): dial it again, with backoff, for as long as the agent holds the
   * link. Works without a controller; stops when the link is removed.
   */
  private redialLater(name: string, attempt = 1): void {
    if (this.stopped || this.redials.has(name)) return;
    const delayMs = Math.min(30_000, 1000 * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.redials.delete(name);
      if (!this.options.state.get(name)?.initiator) return;
      // initiate() answers true at once when the CHILD_SA is already back (the controller re-initiated).
      void this.options.driver
        .initiate(name, 10_000)
        .catch(() => false)
        .then((up) => {
          if (!up) this.redialLater(name, attempt + 1);
        });
    }, delayMs);
    timer.unref();
    this.redials.set(name, timer);
  }

  private report(event: TunnelEvent): void {
    const held = this.options.state.get(event.name);
    if (!held) return; // not ours
    if (event.up) this.up.add(event.name);
    else this.up.delete(event.name);
    if (!event.up && held.initiator) this.redialLater(event.name);
    this.options.log.info(event.up ? 'tunnel up' : 'tunnel down', { link: event.name, reason: event.reason });
    const sent = this.session.send({ type: 'tunnel', name: event.name, up: event.up, ...(event.reason ? { reason: boundedText(event.reason, 256) } : {}), at: new Date().toISOString() });
    if (sent) this.unsent.delete(event.name);
    else this.unsent.set(event.name, event);
  }

  private flushTunnelEvents(): void {
    for (const e of [...this.unsent.values()]) this.report(e);
  }

  private async readMetadata(): Promise<void> {
    const id = await this.options.metadata?.read();
    if (id) this.cloud = id;
  }

  /**
   * Peers reach this gateway at its public address; when that changes (an EIP re-associated, a
   * NAT or an ISP handing out a new address) the controller must hear it at once. The agent polls
   * what it can see locally (interfaces, metadata: no third-party services) and redials on a
   * change, which also sends the hub a new source address to observe.
   */
  private watchAddresses(): void {
    const every = this.options.addressCheckMs ?? 2000;
    const tick = async (): Promise<void> => {
      await this.readMetadata();
      const now = this.addressKey();
      if (now !== this.lastAddresses) {
        this.options.log.info('addresses changed; telling the controller', { before: this.lastAddresses, now });
        this.lastAddresses = now;
        this.session.redial('addresses changed');
      }
    };
    const loop = (): void => {
      if (this.stopped) return; // a tick in flight during stop() must not re-arm the timer
      this.addressTimer = setTimeout(() => void tick().catch((err: unknown) => this.options.log.warn('address check failed', { err })).finally(loop), every);
      this.addressTimer.unref();
    };
    loop();
  }

  private publicIp(): string | undefined {
    return this.options.publicIp ?? this.cloud?.publicIp;
  }

  private addressKey(): string {
    return JSON.stringify([this.publicIp() ?? null, localAddrs()]);
  }

  private async facts(): Promise<Facts> {
    const publicIp = this.publicIp();
    return boundedFacts({
      agentVersion: AGENT_VERSION,
      hostname: hostname(),
      ...(publicIp ? { publicIp } : {}),
      localAddrs: localAddrs(),
      ...(this.strongswanVersion ? { strongswanVersion: this.strongswanVersion } : {}),
      ...(this.cloud ? { cloud: { provider: this.cloud.provider, instanceId: this.cloud.instanceId, ...(this.cloud.region ? { region: this.cloud.region } : {}) } } : {}),
    });
  }
}

function localAddrs(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal)
    .map((a) => a!.address)
    .sort();
}

function sameLink(a: LinkConfig, b: LinkConfig): boolean {
  return JSON.stringify({ ...a, version: 0 }) === JSON.stringify({ ...b, version: 0 });
}
