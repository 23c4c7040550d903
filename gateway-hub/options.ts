// What a GatewayHub is built with, and the defaults of its limits. The limits bound what a peer of
// the agent listener can cost before it authenticates, and what an authenticated agent can cause
// downstream (database writes, workflow signals) by repeating itself.
import type { AgentFrame, Facts } from '../protocol/messages';

export type HealthFrame = Extract<AgentFrame, { type: 'health' }>;
import type { GatewayId } from '../protocol/ids';
import type { Logger } from '../lib/log';
import type { PresenceStore } from './presence';
import type { HubMetrics } from '../lib/metrics';

export interface TunnelReport {
  name: string;
  up: boolean;
  reason?: string;
  at: string;
}

export interface HubOptions {
  instanceId: string;
  store: PresenceStore;
  log: Logger;
  heartbeatMs: number;
  rpcTimeoutMs: number;
  helloTimeoutMs: number;
  /** Connections not yet through authentication and hello, per source address (an IPv6 /64 counts as one). */
  preauthPerIp?: number;
  /** Connections not yet through authentication and hello, in all. */
  preauthMax?: number;
  /** From TCP accept to the agent's hello; a connection not that far by then is closed. */
  preauthTimeoutMs?: number;
  /** Failed authentications (upgrade or enrolment) a source may have per window before 429. */
  authFailures?: number;
  authFailureWindowMs?: number;
  /** Window of the sampled log lines about refused peers (first per source, then a summary). */
  logSampleMs?: number;
  /** Changed facts: deliveries to onFacts (and writes) back to back, then one per factsRefillMs. */
  factsBurst?: number;
  factsRefillMs?: number;
  /** Tunnel reports per gateway and connection name. */
  tunnelBurst?: number;
  tunnelRefillMs?: number;
  /** onOnline calls per gateway (reconnect storms of one gateway). */
  onlineBurst?: number;
  onlineRefillMs?: number;
  /** Called after a gateway's hello was recorded (also on reconnects, within onlineBurst/onlineRefillMs). */
  onOnline?: (gatewayId: GatewayId, info: { observedIp: string | undefined; facts: Facts }) => void;
  /** Called when the agent reports a tunnel going up or down; the latest report of a link always arrives. */
  onTunnel?: (gatewayId: GatewayId, report: TunnelReport) => void;
  /** Called when the agent's facts change while connected (e.g. a new public address); the latest always arrives. */
  onFacts?: (gatewayId: GatewayId, facts: Facts) => void;
  /**
   * Called with each data-plane health frame of a connected agent (at most one per interval; the
   * callee checks which links the gateway may report on and bounds its writes).
   */
  onHealth?: (gatewayId: GatewayId, frame: HealthFrame) => void;
  /** Called when a gateway's socket closed and no newer socket replaced it. */
  onOffline?: (gatewayId: GatewayId) => void;
  /** Prometheus families the hub counts into (lib/metrics.ts); none when absent. */
  metrics?: HubMetrics;
}

export const HUB_LIMIT_DEFAULTS = {
  preauthPerIp: 64,
  preauthMax: 4096,
  preauthTimeoutMs: 10_000,
  authFailures: 10,
  authFailureWindowMs: 60_000,
  logSampleMs: 60_000,
  // One delivery a second at most once a burst is spent: a looping or flapping agent adds about one
  // signal a second to its links' histories, while real changes (an address that moves every few
  // seconds, as bench:recovery does) are never held back. Slower refills delayed recovery by the
  // wait for a token (measured: bench:recovery p50 1.9 s → 2.4 s with one per 5 s).
  factsBurst: 5,
  factsRefillMs: 1_000,
  tunnelBurst: 10,
  tunnelRefillMs: 1_000,
  onlineBurst: 5,
  onlineRefillMs: 1_000,
} as const satisfies Partial<HubOptions>;

export type HubLimits = { -readonly [K in keyof typeof HUB_LIMIT_DEFAULTS]: number };

export function hubLimits(options: HubOptions): HubLimits {
  const limits: HubLimits = { ...HUB_LIMIT_DEFAULTS };
  for (const key of Object.keys(limits) as Array<keyof HubLimits>) {
    const value = options[key];
    if (value !== undefined) {
      if (!(value > 0)) throw new Error(`hub option ${key} must be positive (got ${value})`);
      limits[key] = value;
    }
  }
  return limits;
}
