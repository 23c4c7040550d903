// An in-memory stand-in for strongSwan, for workflow and hub tests that run without root. It makes
// the decisions IKEv2 with PSK makes (RFC 7296 §2.15, §2.9): the initiator reaches the peer by its
// remote address; the responder needs a connection whose identities mirror the initiator's and the
// same PSK; traffic selectors must match. A mismatch fails the way charon reports it (initiate
// answers "failed"); success installs the CHILD_SA at both ends and both report child-updown.
// test/e2e/fake-ipsec-contract.test.ts pins each of these decisions against real charon.
import type { IkeSaState, LinkConfig } from '../../protocol/messages';
import type { IpsecDriver, TunnelEvent } from '../../agent/driver';
import { firstOverlap } from '../../lib/cidr';

export class FakeIpsecNetwork {
  readonly drivers = new Map<string, FakeIpsecDriver>();

  /** A driver whose public address is `address`. */
  driver(address: string): FakeIpsecDriver {
    const d = new FakeIpsecDriver(this, address);
    this.drivers.set(address, d);
    return d;
  }
}

/**
 * charon's default CHILD_SA rekey_time is 1 h less up to rand_time (10 % of it); list-sas shows the
 * seconds left as rekey-time. The fake takes the earliest point of that window.
 */
const REKEY_AFTER_S = 3240;

/** A CHILD_SA's counters as list-sas reports them (bytes/packets of ESP payload; use-* absent before any packet). */
interface SaCounters {
  installedAt: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  lastIn?: number;
  lastOut?: number;
}

export class FakeIpsecDriver implements IpsecDriver {
  readonly conns = new Map<string, LinkConfig>();
  readonly installed = new Set<string>();
  /** Counters of each installed CHILD_SA; a new SA (re-initiation) starts at zero, as charon's do. */
  readonly counters = new Map<string, SaCounters>();
  private tunnelCbs: Array<(e: TunnelEvent) => void> = [];
  private restartCbs: Array<() => void> = [];
  /** Set to make every call fail the way an unreachable VICI socket does. */
  down = false;
  /** Makes load-conn refuse a config (charon answers "loading connection failed" with a reason). */
  refuse?: (link: LinkConfig) => string | undefined;
  calls: string[] = [];

  constructor(
    private readonly net: FakeIpsecNetwork,
    readonly address: string,
  ) {}

  async start(): Promise<void> {
    this.check('start');
  }

  async version(): Promise<string> {
    return 'fake 5.9.8';
  }

  async apply(link: LinkConfig): Promise<void> {
    this.check(`apply ${link.name}`);
    const why = this.refuse?.(link);
    if (why) throw Object.assign(new Error(`loading connection '${link.name}' failed: ${why}`), { code: 'ipsec_refused' });
    this.conns.set(link.name, link);
  }

  async remove(name: string): Promise<void> {
    this.check(`remove ${name}`);
    const link = this.conns.get(name);
    this.conns.delete(name);
    if (this.installed.delete(name)) {
      this.emit({ name, up: false, reason: 'terminated' });
      const peer = link && this.net.drivers.get(link.remoteAddrs[0]!);
      if (peer?.installed.delete(name)) peer.emit({ name, up: false, reason: 'peer deleted the SA' });
    }
  }

  async initiate(name: string, _timeoutMs: number, opts: { restart?: boolean } = {}): Promise<boolean> {
    this.check(`initiate ${name}`);
    const mine = this.conns.get(name);
    if (opts.restart && this.installed.delete(name)) {
      // terminate: our SA goes, and the peer deletes its half when the DELETE reaches it.
      this.emit({ name, up: false, reason: 'terminated' });
      for (const d of this.net.drivers.values()) if (d !== this && d.installed.delete(name)) d.emit({ name, up: false, reason: 'peer deleted the SA' });
    }
    if (this.installed.has(name)) return true;
    if (!mine) throw new Error(`no config found for ${name}`);
    const peer = this.net.drivers.get(mine.remoteAddrs[0]!);
    const theirs = peer?.conns.get(name);
    if (!peer || peer.down || !theirs) return false; // no answer or NO_PROPOSAL_CHOSEN
    const acceptsMe = theirs.remoteAddrs.includes('%any') || theirs.remoteAddrs.includes(this.address);
    const ids = theirs.localId === mine.remoteId && theirs.remoteId === mine.localId;
    // Traffic selectors are narrowed to their intersection; only disjoint ones are refused.
    const ts = intersects(theirs.localTs, mine.remoteTs) && intersects(theirs.remoteTs, mine.localTs);
    if (!acceptsMe || !ids || theirs.psk !== mine.psk || !ts) return false; // AUTHENTICATION_FAILED / TS_UNACCEPTABLE
    this.installed.add(name);
    peer.installed.add(name);
    this.counters.set(name, freshCounters());
    peer.counters.set(name, freshCounters());
    peer.emit({ name, up: true, reason: 'child-updown' });
    this.emit({ name, up: true, reason: 'child-updown' });
    return true;
  }

  async status(): Promise<IkeSaState[]> {
    this.check('status');
    return [...this.installed].map((name) => ({
      name,
      state: 'ESTABLISHED',
      children: [{ name, state: 'INSTALLED', ...this.figures(name), localTs: this.conns.get(name)?.localTs ?? [], remoteTs: this.conns.get(name)?.remoteTs ?? [] }],
    }));
  }

  /**
   * Sends `packets` packets of `bytes` bytes each through the link's tunnel to its peer: this
   * end's out-counters and the peer's in-counters move (only while both hold the CHILD_SA).
   */
  traffic(name: string, bytes: number, packets = 1): boolean {
    const peer = this.conns.get(name) && this.net.drivers.get(this.conns.get(name)!.remoteAddrs[0]!);
    const mine = this.counters.get(name);
    const theirs = peer?.counters.get(name);
    if (!this.installed.has(name) || !mine || !peer?.installed.has(name) || !theirs) return false;
    const now = Date.now();
    mine.bytesOut += bytes * packets;
    mine.packetsOut += packets;
    mine.lastOut = now;
    theirs.bytesIn += bytes * packets;
    theirs.packetsIn += packets;
    theirs.lastIn = now;
    return true;
  }

  private figures(name: string) {
    const c = this.counters.get(name) ?? freshCounters();
    const now = Date.now();
    const secondsSince = (t: number) => Math.floor((now - t) / 1000);
    const installTime = secondsSince(c.installedAt);
    return {
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      packetsIn: c.packetsIn,
      packetsOut: c.packetsOut,
      installTime,
      rekeyTime: Math.max(0, REKEY_AFTER_S - installTime),
      ...(c.lastIn !== undefined ? { useIn: secondsSince(c.lastIn) } : {}),
      ...(c.lastOut !== undefined ? { useOut: secondsSince(c.lastOut) } : {}),
    };
  }

  onTunnel(cb: (e: TunnelEvent) => void): void {
    this.tunnelCbs.push(cb);
  }

  onRestart(cb: () => void): void {
    this.restartCbs.push(cb);
  }

  /** The gateway's public address changes (its SAs stay installed but lead nowhere until replaced). */
  moveTo(address: string): void {
    this.net.drivers.delete(this.address);
    (this as { address: string }).address = address;
    this.net.drivers.set(address, this);
  }

  /** Simulates a charon restart: every loaded conn and SA is lost. */
  restart(): void {
    this.conns.clear();
    this.installed.clear();
    for (const cb of this.restartCbs) cb();
  }

  async close(): Promise<void> {}

  emit(e: TunnelEvent): void {
    for (const cb of this.tunnelCbs) cb(e);
  }

  private check(call: string): void {
    this.calls.push(call);
    if (this.down) throw Object.assign(new Error('cannot connect to VICI socket: ECONNREFUSED'), { code: 'ipsec_unavailable' });
  }
}

function freshCounters(): SaCounters {
  return { installedAt: Date.now(), bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
}

function intersects(a: string[], b: string[]): boolean {
  return firstOverlap(a, b) !== undefined;
}
