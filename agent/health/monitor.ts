// Data-plane health of the agent's links, once per interval: CHILD_SA counters from charon
// (list-sas) and probes through each tunnel to the peer gateway's inner address, reported to the
// controller in one bounded frame. The controller answers with where to probe (probeTargets).
import type { AgentFrame, IkeSaState, LinkConfig, LinkHealthReport, ProbeTarget } from '../../protocol/messages';
import { MAX_HEALTH_LINKS } from '../../protocol/messages';
import { isConnName } from '../../protocol/ids';
import type { Logger } from '../../lib/log';
import { innerAddrFor, interfaceAddrs } from './inner-addr';
import { probe, ProbeResponders, type ProbeResult } from './probe';
import { RttWindow } from './rtt';

export type HealthFrame = Extract<AgentFrame, { type: 'health' }>;

export interface HealthMonitorOptions {
  intervalMs: number;
  /** UDP port of every agent's probe responder. */
  probePort: number;
  /** Probes per link and interval. */
  probesPerInterval?: number;
  links: () => LinkConfig[];
  status: () => Promise<IkeSaState[]>;
  /** Sends a frame; false when not connected (the frame is dropped: the next interval has fresher figures). */
  send: (frame: HealthFrame) => boolean;
  log: Logger;
  /** The host's addresses (tests give their own). */
  addrs?: () => string[];
  probe?: typeof probe;
}

/** One link's counters summed over its CHILD_SAs (during a rekey there are two). */
export function saFigures(sas: readonly IkeSaState[], name: string): Omit<LinkHealthReport, 'name' | 'innerAddr' | 'probe'> {
  const children = sas.flatMap((sa) => sa.children).filter((child) => child.name === name);
  const installed = children.filter((child) => child.state === 'INSTALLED');
  const min = (values: Array<number | undefined>): number | undefined => {
    const known = values.filter((v): v is number => v !== undefined);
    return known.length > 0 ? Math.min(...known) : undefined;
  };
  const sum = (field: 'bytesIn' | 'bytesOut' | 'packetsIn' | 'packetsOut'): number => children.reduce((total, child) => total + child[field], 0);
  const optional = { idleIn: min(children.map((c) => c.useIn)), idleOut: min(children.map((c) => c.useOut)), installedFor: min(installed.map((c) => c.installTime)), rekeyIn: min(installed.map((c) => c.rekeyTime)) };
  return {
    installed: installed.length > 0,
    bytesIn: sum('bytesIn'),
    bytesOut: sum('bytesOut'),
    packetsIn: sum('packetsIn'),
    packetsOut: sum('packetsOut'),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

/** Consecutive unanswered intervals and RTT samples of one link's probes. */
export class ProbeTrack {
  failStreak = 0;
  readonly rtt = new RttWindow();

  record(result: ProbeResult, at: number): void {
    for (const ms of result.rttsMs) this.rtt.add(ms, at);
    this.failStreak = result.rttsMs.length > 0 ? 0 : this.failStreak + 1;
  }
}

export class HealthMonitor {
  private readonly targets = new Map<string, string>();
  private readonly tracks = new Map<string, ProbeTrack>();
  private readonly responders: ProbeResponders;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: HealthMonitorOptions) {
    this.responders = new ProbeResponders(o.probePort, (addr, err) => o.log.debug('probe responder', { addr, err: err.message }));
  }

  /** Ticks at a fixed rate (an interval's probes do not push the next one later), never two at once. */
  start(): void {
    let next = Date.now() + this.o.intervalMs;
    const loop = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        next = Math.max(next + this.o.intervalMs, Date.now());
        void this.tick()
          .catch((err: unknown) => this.o.log.warn('health report failed', { err }))
          .finally(loop);
      }, Math.max(0, next - Date.now()));
      this.timer.unref();
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.responders.close();
  }

  /** Where the controller says each link's peer answers; links it leaves out are not probed. */
  setTargets(targets: readonly ProbeTarget[]): void {
    this.targets.clear();
    for (const t of targets) this.targets.set(t.name, t.addr);
  }

  /** One interval: measure, probe, send. Returns the frame (sent or not). */
  async tick(): Promise<HealthFrame> {
    const links = this.o.links().filter((link) => isConnName(link.name)).slice(0, MAX_HEALTH_LINKS);
    const sas = await this.o.status().catch((err: unknown) => {
      this.o.log.debug('list-sas failed', { err });
      return [] as IkeSaState[];
    });
    const addrs = (this.o.addrs ?? interfaceAddrs)();
    const inner = new Map(links.map((link) => [link.name, innerAddrFor(link.localTs, addrs)]));
    await this.responders.serve(new Set([...inner.values()].filter((a): a is string => a !== undefined)));
    for (const name of this.tracks.keys()) if (!inner.has(name)) this.tracks.delete(name);

    const count = this.o.probesPerInterval ?? 3;
    const timeoutMs = Math.max(50, Math.min(1000, Math.floor(this.o.intervalMs / 3)));
    const spacingMs = Math.min(100, Math.floor(this.o.intervalMs / 20));
    const reports = await Promise.all(
      links.map(async (link): Promise<LinkHealthReport> => {
        const figures = saFigures(sas, link.name);
        const innerAddr = inner.get(link.name);
        const target = this.targets.get(link.name);
        const report: LinkHealthReport = { name: link.name, ...figures, ...(innerAddr ? { innerAddr } : {}) };
        // Probes need somewhere to leave from and go to, and a tunnel to go through; a link whose
        // CHILD_SA is down is already reported down by IKE.
        if (!innerAddr || !target || !figures.installed) return report;
        const track = this.tracks.get(link.name) ?? new ProbeTrack();
        this.tracks.set(link.name, track);
        const result = await (this.o.probe ?? probe)({ from: innerAddr, to: target, port: this.o.probePort, count, spacingMs, timeoutMs });
        const now = Date.now();
        track.record(result, now);
        const p50 = track.rtt.p50(now);
        return {
          ...report,
          probe: { sent: result.sent, answered: result.rttsMs.length, failStreak: track.failStreak, target, ...(p50 !== undefined ? { rttP50Ms: Math.round(p50 * 1000) / 1000 } : {}) },
        };
      }),
    );
    const frame: HealthFrame = { type: 'health', intervalMs: this.o.intervalMs, at: new Date().toISOString(), links: reports };
    if (reports.length > 0) this.o.send(frame);
    return frame;
  }
}
