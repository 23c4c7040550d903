// What an authenticated agent can cause downstream by repeating itself, bounded. Every callback the
// hub makes signals the gateway's link workflows and grows their histories, so identical facts are
// dropped, and changed facts, tunnel reports and announcements of a (re)connected gateway go through
// per-gateway token buckets that coalesce to the latest value (throttle.ts): normal operation passes
// at once and in order, a flapping or hostile agent gets a few calls and then one per refill.
import type { Logger } from '../lib/log';
import { MAX_REPORTED_SAS, type Facts } from '../protocol/messages';
import type { GatewayId } from '../protocol/ids';
import type { LogSampler } from './log-sampler';
import type { HubLimits, HubOptions, TunnelReport } from './options';
import { CoalescingThrottle } from './throttle';

/** What the filter keeps per agent connection. */
export interface ConnNoise {
  /** The last facts reported (JSON), recorded or waiting to be: an identical frame is noise. */
  factsKey: string;
  /** The last facts recorded (JSON). */
  recordedFactsKey: string;
  /** Connection names reported (bounds the tunnel throttle's keys per connection); made at the first. */
  tunnelNames?: Set<string>;
}

export const connNoise = (): ConnNoise => ({ factsKey: '', recordedFactsKey: '' });

export interface AgentConn {
  readonly gatewayId: GatewayId;
  readonly observedIp: string | undefined;
  readonly noise: ConnNoise;
}

export interface NoiseDeps<C extends AgentConn> {
  limits: HubLimits;
  callbacks: Pick<HubOptions, 'onOnline' | 'onFacts' | 'onTunnel'>;
  /** Whether `conn` is still its gateway's welcomed connection. */
  isCurrent: (conn: C) => boolean;
  /** Writes `conn`'s facts to the store. */
  record: (conn: C, facts: Facts) => Promise<void>;
  log: Logger;
  sampler: LogSampler;
}

export class AgentNoise<C extends AgentConn> {
  private readonly factsThrottle: CoalescingThrottle<{ conn: C; facts: Facts; key: string }>;
  private readonly tunnelThrottle: CoalescingThrottle<{ gatewayId: GatewayId; report: TunnelReport }>;
  private readonly onlineThrottle: CoalescingThrottle<{ conn: C; facts: Facts }>;

  constructor(private readonly deps: NoiseDeps<C>) {
    const l = deps.limits;
    this.factsThrottle = new CoalescingThrottle({ burst: l.factsBurst, refillMs: l.factsRefillMs }, (_key, v) => this.deliverFacts(v.conn, v.facts, v.key));
    // Tunnel reports are delivered even after their connection closed: the latest state is still news.
    this.tunnelThrottle = new CoalescingThrottle({ burst: l.tunnelBurst, refillMs: l.tunnelRefillMs }, (_key, v) => this.safely('onTunnel', v.gatewayId, () => deps.callbacks.onTunnel?.(v.gatewayId, v.report)));
    this.onlineThrottle = new CoalescingThrottle({ burst: l.onlineBurst, refillMs: l.onlineRefillMs }, (_key, online) => {
      // A later connection of the gateway replaced this value if there was one; a closed one is not online.
      if (deps.isCurrent(online.conn)) this.safely('onOnline', online.conn.gatewayId, () => deps.callbacks.onOnline?.(online.conn.gatewayId, { observedIp: online.conn.observedIp, facts: online.facts }));
    });
  }

  /** The hub welcomed `conn`, whose hello recorded `facts`. */
  welcomed(conn: C, facts: Facts): void {
    conn.noise.factsKey = conn.noise.recordedFactsKey = JSON.stringify(facts);
    if (this.deps.callbacks.onOnline) this.onlineThrottle.push(conn.gatewayId, { conn, facts });
  }

  /** A facts frame on a welcomed connection. */
  facts(conn: C, facts: Facts): void {
    const key = JSON.stringify(facts); // parsed by the schema, so keys come in its order
    if (key === conn.noise.factsKey) return;
    conn.noise.factsKey = key;
    this.factsThrottle.push(conn.gatewayId, { conn, facts, key });
  }

  /** A tunnel frame on a welcomed connection. */
  tunnel(conn: C, report: TunnelReport): void {
    const names = (conn.noise.tunnelNames ??= new Set());
    if (!names.has(report.name)) {
      // Names are throttle keys: an agent may not invent more than it could hold links.
      if (names.size >= MAX_REPORTED_SAS) {
        this.deps.sampler.warn(conn.gatewayId, 'agent reports more tunnels than it may hold; ignoring new names', { gatewayId: conn.gatewayId });
        return;
      }
      names.add(report.name);
    }
    this.tunnelThrottle.push(`${conn.gatewayId}|${report.name}`, { gatewayId: conn.gatewayId, report });
  }

  /** Drops whatever waits (the hub is stopping). */
  close(): void {
    for (const throttle of [this.factsThrottle, this.tunnelThrottle, this.onlineThrottle]) throttle.close();
  }

  private deliverFacts(conn: C, facts: Facts, key: string): void {
    // A newer connection's hello recorded newer facts; and changing back and forth while waiting
    // can end where the record already is.
    if (!this.deps.isCurrent(conn) || key === conn.noise.recordedFactsKey) return;
    conn.noise.recordedFactsKey = key;
    this.deps.record(conn, facts).catch((err: unknown) => this.deps.log.warn('could not record new facts', { gatewayId: conn.gatewayId, err }));
    this.safely('onFacts', conn.gatewayId, () => this.deps.callbacks.onFacts?.(conn.gatewayId, facts));
  }

  /** Runs a callback of the hub's owner; it may run from a timer, where a throw would end the process. */
  private safely(callback: string, gatewayId: GatewayId, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.deps.log.error('hub callback failed', { callback, gatewayId, err });
    }
  }
}
