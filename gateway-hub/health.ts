// Data-plane health frames from the agents this hub holds. Trust (DESIGN §5): a gateway reports
// only on links it is an end of, and the inner address it claims must lie inside the networks its
// end carries; anything else is dropped. Writes are bounded: the latest record per link end is
// kept in memory and written in one batch per report interval (at most one row write per link end
// and flush, whatever an agent sends). Each end's probe verdict is passed on when it changes.
import { connName, asLinkId, type GatewayId } from '../protocol/ids';
import { PROBE_FAIL_INTERVALS, type LinkHealthReport, type ProbeTarget } from '../protocol/messages';
import type { HealthStore, LinkEnd, LinkHealthRecord, LinkWithEnds } from '../store';
import type { Logger } from '../lib/log';
import { innerAddrFor } from '../protocol/addresses';
import type { HealthFrame } from './options';

/** Longest time a record waits in memory before it is written. */
const MAX_FLUSH_MS = 10_000;
const MIN_FLUSH_MS = 100;
/** A gateway's link list is re-read at most this often when a report names a link not in it. */
const LINK_REREAD_MS = 1000;

export interface ProbeVerdict {
  linkId: string;
  gatewayId: GatewayId;
  /** No probe answered for PROBE_FAIL_INTERVALS intervals while the CHILD_SA is installed. */
  failing: boolean;
  reason?: string;
}

export interface HealthCollectorOptions {
  /** The live links of a gateway, with both ends (store.links.liveWithEndsOf). */
  linksOf: (gatewayId: GatewayId) => Promise<LinkWithEnds[]>;
  store: HealthStore;
  log: Logger;
  /** Where each of the gateway's links should probe (sent back to the agent). */
  sendTargets: (gatewayId: GatewayId, targets: ProbeTarget[]) => void;
  /** An end's probe verdict changed (or, first seen by this process, is failing, or passing on a degraded link). */
  onVerdict: (verdict: ProbeVerdict) => void;
  /** The metrics hook (ControllerMetrics.linkHealth). */
  metrics?: { report(linkId: string, sample: { rxBytes: number; txBytes: number; rttSeconds?: number; up: boolean }): void; forget(linkId: string): void };
  now?: () => number;
}

interface CachedLinks {
  at: number;
  byName: Map<string, LinkWithEnds>;
}

export class HealthCollector {
  private readonly pending = new Map<string, LinkHealthRecord>();
  /** Latest record per link end seen by this process, and when (for metrics and probe targets). */
  private readonly latest = new Map<string, { record: LinkHealthRecord; seenAt: number; intervalMs: number; failing: boolean }>();
  private readonly links = new Map<GatewayId, CachedLinks>();
  /** Inner addresses of link ends held by other processes, read from the database. */
  private readonly remoteInner = new Map<string, { addr: string | null; at: number }>();
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Reports dropped by the trust check (tests and logs read it). */
  ignored = 0;
  /** Row writes so far (tests read it). */
  written = 0;

  constructor(private readonly o: HealthCollectorOptions) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Takes one frame of a gateway; resolves once the verdicts and probe targets are out. */
  async accept(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    let links = await this.linksOf(gatewayId, false);
    if (frame.links.some((r) => !links.byName.has(r.name)) && this.now() - links.at >= LINK_REREAD_MS) links = await this.linksOf(gatewayId, true);
    const measuredAt = new Date(Math.min(Date.parse(frame.at), this.now()));
    const reported: LinkWithEnds[] = [];
    for (const report of frame.links) {
      const link = links.byName.get(report.name);
      if (!link) {
        this.ignored++;
        this.o.log.debug('health report for a link the gateway is not an end of; ignored', { gatewayId, name: report.name });
        continue;
      }
      reported.push(link);
      const end: LinkEnd = link.aId === gatewayId ? 'a' : 'b';
      const record = toRecord(link, gatewayId, end, report, measuredAt);
      const key = `${link.id}|${gatewayId}`;
      const previous = this.latest.get(key);
      const failing = report.probe !== undefined && report.installed && report.probe.failStreak >= PROBE_FAIL_INTERVALS;
      const passing = report.probe !== undefined && report.probe.answered > 0;
      this.latest.set(key, { record, seenAt: this.now(), intervalMs: frame.intervalMs, failing });
      this.pending.set(key, record);
      if (failing && previous?.failing !== true) {
        const peer = end === 'a' ? link.b : link.a;
        const seconds = Math.round((report.probe!.failStreak * frame.intervalMs) / 1000);
        this.o.onVerdict({ linkId: link.id, gatewayId, failing: true, reason: `no probe answer from ${peer.name} through the tunnel for ${seconds} s; IKE is up` });
      } else if (passing && (previous?.failing === true || (previous === undefined && link.state === 'degraded'))) {
        // First sight (e.g. after a controller restart): only a degraded link may wait for this.
        this.o.onVerdict({ linkId: link.id, gatewayId, failing: false });
      }
      this.reportMetrics(link.id);
    }
    this.scheduleFlush(frame.intervalMs);
    this.o.sendTargets(gatewayId, await this.targetsFor(gatewayId, reported));
  }

  /** Writes what is pending and stops. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush();
  }

  /** Writes every pending record (one row per link end), then drops metrics of links gone quiet. */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const run = async (): Promise<void> => {
      const records = [...this.pending.values()];
      this.pending.clear();
      try {
        await this.o.store.putMany(records);
        this.written += records.length;
      } catch (err) {
        // The next report brings fresher figures; nothing is retried.
        this.o.log.warn('could not write link health', { count: records.length, err });
      }
      this.forgetQuiet();
    };
    this.flushing = this.flushing.then(run);
    return this.flushing;
  }

  private scheduleFlush(intervalMs: number): void {
    if (this.flushTimer || this.closed) return;
    const delay = Math.max(MIN_FLUSH_MS, Math.min(MAX_FLUSH_MS, intervalMs));
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delay);
    this.flushTimer.unref();
  }

  private async linksOf(gatewayId: GatewayId, fresh: boolean): Promise<CachedLinks> {
    const cached = this.links.get(gatewayId);
    if (cached && !fresh && this.now() - cached.at < MAX_FLUSH_MS) return cached;
    const list = await this.o.linksOf(gatewayId);
    const entry = { at: this.now(), byName: new Map(list.map((link) => [connName(asLinkId(link.id)), link])) };
    this.links.set(gatewayId, entry);
    // A link no longer live for this gateway: its figures leave the metrics.
    if (cached) for (const [name, link] of cached.byName) if (!entry.byName.has(name)) this.forgetLink(link.id);
    return entry;
  }

  /** Each reported link's peer inner address: from this process's own reports, else from the database. */
  private async targetsFor(gatewayId: GatewayId, links: LinkWithEnds[]): Promise<ProbeTarget[]> {
    const peerKey = (link: LinkWithEnds): string => `${link.id}|${link.aId === gatewayId ? link.bId : link.aId}`;
    const stale = links.filter((link) => {
      if (this.latest.has(peerKey(link))) return false;
      const known = this.remoteInner.get(peerKey(link));
      return !known || this.now() - known.at >= MAX_FLUSH_MS;
    });
    if (stale.length > 0) {
      const rows = await this.o.store.forLinks(stale.map((link) => link.id)).catch(() => []);
      for (const link of stale) {
        const row = rows.find((r) => `${r.linkId}|${r.gatewayId}` === peerKey(link));
        this.remoteInner.set(peerKey(link), { addr: row?.innerAddr ?? null, at: this.now() });
      }
    }
    return links.flatMap((link) => {
      const addr = this.latest.get(peerKey(link))?.record.innerAddr ?? this.remoteInner.get(peerKey(link))?.addr;
      return addr ? [{ name: connName(asLinkId(link.id)), addr }] : [];
    });
  }

  /** One sample per link: end a's view when this process holds it, else end b's. */
  private reportMetrics(linkId: string): void {
    if (!this.o.metrics) return;
    const ends = [...this.latest.values()].filter((e) => e.record.linkId === linkId).sort((x, y) => x.record.end.localeCompare(y.record.end));
    const first = ends[0];
    if (!first) return;
    const r = first.record;
    this.o.metrics.report(linkId, {
      rxBytes: r.bytesIn,
      txBytes: r.bytesOut,
      ...(r.rttP50Ms !== null ? { rttSeconds: r.rttP50Ms / 1000 } : {}),
      up: ends.every((e) => e.record.installed && !e.failing),
    });
  }

  /** Link ends not heard of for three of their intervals are dropped (the agent left, or the link went). */
  private forgetQuiet(): void {
    const now = this.now();
    for (const [key, entry] of this.latest) {
      if (now - entry.seenAt <= 3 * entry.intervalMs + MAX_FLUSH_MS) continue;
      this.latest.delete(key);
      if (![...this.latest.values()].some((e) => e.record.linkId === entry.record.linkId)) this.o.metrics?.forget(entry.record.linkId);
    }
  }

  private forgetLink(linkId: string): void {
    for (const [key, entry] of this.latest) if (entry.record.linkId === linkId) this.latest.delete(key);
    this.o.metrics?.forget(linkId);
  }
}

/** A report as a row: idle and lifetime seconds become times, the inner address only when inside the end's networks. */
export function toRecord(link: LinkWithEnds, gatewayId: GatewayId, end: LinkEnd, report: LinkHealthReport, measuredAt: Date): LinkHealthRecord {
  const at = measuredAt.getTime();
  const ago = (s: number | undefined): Date | null => (s === undefined ? null : new Date(at - s * 1000));
  const ahead = (s: number | undefined): Date | null => (s === undefined ? null : new Date(at + s * 1000));
  const cidrs = end === 'a' ? link.aCidrs : link.bCidrs;
  const innerAddr = report.innerAddr !== undefined && innerAddrFor(cidrs, [report.innerAddr]) ? report.innerAddr : null;
  return {
    linkId: link.id,
    gatewayId,
    end,
    installed: report.installed,
    bytesIn: report.bytesIn,
    bytesOut: report.bytesOut,
    packetsIn: report.packetsIn,
    packetsOut: report.packetsOut,
    lastInAt: ago(report.idleIn),
    lastOutAt: ago(report.idleOut),
    establishedAt: ago(report.installedFor),
    rekeyAt: ahead(report.rekeyIn),
    innerAddr,
    rttP50Ms: report.probe?.rttP50Ms ?? null,
    probesSent: report.probe?.sent ?? 0,
    probesAnswered: report.probe?.answered ?? 0,
    probeFailStreak: report.probe?.failStreak ?? null,
    measuredAt,
  };
}
