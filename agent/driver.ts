// What the agent needs from the IPsec daemon, behind a small interface (as Submariner's cable
// drivers): the VICI implementation drives charon; tests and the hub benchmark use others.
import type { IkeSaState, LinkConfig } from '../protocol/messages';

export interface TunnelEvent {
  /** Connection name (link-<id>). */
  name: string;
  up: boolean;
  reason: string;
}

export interface IpsecDriver {
  /** Connects to the daemon; resolves once it answers. */
  start(): Promise<void>;
  /** The daemon's version string, for the facts. */
  version(): Promise<string>;
  /** Loads (or replaces) one link's secret and connection. */
  apply(link: LinkConfig): Promise<void>;
  /** Terminates and unloads one link; no error when it is not loaded. */
  remove(name: string): Promise<void>;
  /**
   * Brings the link's CHILD_SA up unless it already is; resolves true once installed. With
   * restart, the IKE_SA the link holds is terminated first and a new one negotiated.
   */
  initiate(name: string, timeoutMs: number, opts?: { restart?: boolean }): Promise<boolean>;
  /** IKE and CHILD SAs as the daemon reports them. */
  status(): Promise<IkeSaState[]>;
  /** Subscribes to tunnel up/down. */
  onTunnel(cb: (e: TunnelEvent) => void): void;
  /** Called when the daemon restarted and lost its config (the agent re-applies everything). */
  onRestart(cb: () => void): void;
  close(): Promise<void>;
}
