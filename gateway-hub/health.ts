// Data-plane health frames from the agents this hub holds. Trust (DESIGN §5): a gateway reports
// only on links it is an end of, and the inner address it claims must lie inside the networks its
// end carries; anything else is dropped. Writes are bounded: the latest record per link end is
// kept in memory and written in one batch per report interval (at most one row write per link end
// and flush, whatever an agent sends; an end whose figures alone moved, every third interval).
// Each end's probe verdict is passed on when it changes.
// Cost per frame is a few map lookups: with 18,000 agents reporting every 10 s, anything read from
// the database per frame (a gateway's links, a peer's inner address) or scanned over all link ends
// per frame costs the controller most of a core (bench:hub, docs/decisions.md "Few tasks per link").
import { connName, asLinkId, type GatewayId } from '../protocol/ids';
import { PROBE_FAIL_INTERVALS, type LinkHealthReport, type ProbeTarget } from '../protocol/messages';
import type { HealthStore, LinkEnd, LinkHealthRecord, LinkWithEnds } from '../store';
import type { Logger } from '../lib/log';
import { innerAddrFor } from '../protocol/addresses';
import type { HealthFrame } from './options';

/** Longest time a record waits in memory before it is written. */
const MAX_FLUSH_MS = 10_000;
const MIN_FLUSH_MS = 100;
/**
 * How long a link as read (its ends, their networks, its state), or a peer's known inner address,
 * is used before it is read again. Long, because staleness shows in the reports themselves: a link
 * not in the cache, an inner address outside the cached networks (a CIDR change) or an end whose
 * probes go unanswered (the peer's address moved) triggers a re-read at once (at most every
 * LINK_REREAD_MS per gateway), and the controller may drop links when they change (linksChanged).
 * Re-reading each gateway's links every interval instead was 1,800 link reads a second at 18,000
 * agents: 78 % of a core, and a pool so busy that the LinkHealth writes could not get a connection
 * (bench:hub).
 */
const CACHE_TTL_MS = 5 * 60_000;
/** A gateway's link list (or a peer's address) is re-read at most this often when a report disagrees with it. */
const LINK_REREAD_MS = 1000;
/**
 * Database reads in flight at once (of the pool's connections): after a controller restart every
 * agent's first frame needs its links read, and unbounded those reads took the whole pool, so
 * the LinkHealth writes and presence timed out waiting for a connection (bench:hub).
 */
const MAX_READS = 2;
/**
 * A link end's row is written at the next flush when what it says changed in kind (the CHILD_SA
 * installed or not, its inner address, its probes answered, failing or failing for long); while
 * only its figures move (counters, idle times, RTT) it is written every this many of its
 * intervals. Every interval was 1,800 rows a second at 18,000 agents, and the upsert costs ~60 µs
 * of the controller's CPU per row (store/health.ts through Prisma): 11 % of a core on its own.
 * The API's figures are then up to this many intervals old; /metrics reads them from memory, fresh.
 */
const FIGURES_EVERY_INTERVALS = 3;
const DONE: Promise<void> = Promise.resolve();

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

/** A link as last read through either of its ends. */
interface CachedLink {
  at: number;
  link: LinkWithEnds;
  /** Per end, the inner address last found inside its networks: an agent repeats it every frame, and parsing CIDRs each time showed in profiles. */
  inside: { a?: string; b?: string };
}

interface LatestEnd {
  record: LinkHealthRecord;
  seenAt: number;
  intervalMs: number;
  failing: boolean;
  /** The other end's key in `latest`, so a link's two ends are found without a scan. */
  peerKey: string;
  /** When this end's row was last queued for writing, and its kind then (see FIGURES_EVERY_INTERVALS). */
  written: { at: number; kind: string };
}

/** A frame waiting for the one before it from the same gateway; a newer frame takes its place. */
interface Queued {
  frame: HealthFrame;
  done: Promise<void>;
}

const endKey = (linkId: string, gatewayId: string): string => `${linkId}|${gatewayId}`;

export class HealthCollector {
  private readonly pending = new Map<string, LinkHealthRecord>();
  /** Latest record per link end seen by this process, and when (for metrics and probe targets). */
  private readonly latest = new Map<string, LatestEnd>();
  /**
   * Links by connection name, whoever's read brought them: a link read for one end also vouches
   * for the other, so each link is read about once per CACHE_TTL_MS, not once per end.
   */
  private readonly links = new Map<string, CachedLink>();
  /** When each gateway's links were last read, and which names that read gave. */
  private readonly readOf = new Map<GatewayId, { at: number; names: Set<string> }>();
  private reads = 0;
  private readonly readWaiters: Array<() => void> = [];
  /** Inner addresses of link ends held by other processes, read from the database. */
  private readonly remoteInner = new Map<string, { addr: string | null; at: number }>();
  /** Per gateway: the frame being taken (its promise) and one waiting behind it, so a slow database cannot queue frames without bound. */
  private readonly running = new Map<GatewayId, Promise<void>>();
  private readonly queued = new Map<GatewayId, Queued>();
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

  /**
   * Takes one frame of a gateway; resolves once the verdicts and probe targets are out. Frames of
   * one gateway are taken one at a time; while one waits for the database, a newer frame replaces
   * the one queued behind it (fresher figures; an agent sends one per interval anyway).
   */
  accept(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    const queued = this.queued.get(gatewayId);
    if (queued) {
      queued.frame = frame;
      return queued.done;
    }
    const before = this.running.get(gatewayId);
    const entry = { frame } as Queued;
    const take = (): Promise<void> => {
      this.queued.delete(gatewayId);
      try {
        return this.take(gatewayId, entry.frame);
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    entry.done = before ? before.then(take, take) : take();
    if (before) this.queued.set(gatewayId, entry);
    this.running.set(gatewayId, entry.done);
    const settled = (): void => {
      if (this.running.get(gatewayId) === entry.done) this.running.delete(gatewayId);
    };
    entry.done.then(settled, settled);
    return entry.done;
  }

  /** Without a promise of its own unless the database must be read: most frames need only the caches. */
  private take(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    const now = this.now();
    const lastRead = this.readOf.get(gatewayId)?.at;
    if ((lastRead === undefined || now - lastRead >= LINK_REREAD_MS) && frame.links.some((r) => this.stale(gatewayId, r, now))) {
      return this.readLinks(gatewayId, frame).then(() => this.apply(gatewayId, frame));
    }
    return this.apply(gatewayId, frame);
  }

  private apply(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    const now = this.now();
    const measuredAt = new Date(Math.min(Date.parse(frame.at), now));
    const reported: Array<{ link: LinkWithEnds; report: LinkHealthReport }> = [];
    for (const report of frame.links) {
      const cached = this.links.get(report.name);
      const link = cached?.link;
      if (!cached || !link || (link.aId !== gatewayId && link.bId !== gatewayId)) {
        this.ignored++;
        this.o.log.debug('health report for a link the gateway is not an end of; ignored', { gatewayId, name: report.name });
        continue;
      }
      reported.push({ link, report });
      const end: LinkEnd = link.aId === gatewayId ? 'a' : 'b';
      const record = toRecord(link, gatewayId, end, report, measuredAt, report.innerAddr !== undefined && this.inside(cached, end, report.innerAddr));
      const key = endKey(link.id, gatewayId);
      const previous = this.latest.get(key);
      const failing = report.probe !== undefined && report.installed && report.probe.failStreak >= PROBE_FAIL_INTERVALS;
      const passing = report.probe !== undefined && report.probe.answered > 0;
      const kind = kindOf(record);
      const due = !previous || previous.written.kind !== kind || now - previous.written.at >= (FIGURES_EVERY_INTERVALS - 0.5) * frame.intervalMs;
      // A row already due this flush takes the newest figures anyway.
      if (due || this.pending.has(key)) this.pending.set(key, record);
      const written = due ? { at: now, kind } : previous.written;
      this.latest.set(key, { record, seenAt: now, intervalMs: frame.intervalMs, failing, peerKey: endKey(link.id, end === 'a' ? link.bId : link.aId), written });
      if (failing && previous?.failing !== true) {
        const peer = end === 'a' ? link.b : link.a;
        const seconds = Math.round((report.probe!.failStreak * frame.intervalMs) / 1000);
        this.o.onVerdict({ linkId: link.id, gatewayId, failing: true, reason: `no probe answer from ${peer.name} through the tunnel for ${seconds} s; IKE is up` });
      } else if (passing && (previous?.failing === true || (previous === undefined && link.state === 'degraded'))) {
        // First sight (e.g. after a controller restart): only a degraded link may wait for this.
        this.o.onVerdict({ linkId: link.id, gatewayId, failing: false });
      }
      this.reportMetrics(link);
    }
    this.scheduleFlush(frame.intervalMs);
    const unknown = this.peersToRead(gatewayId, reported);
    if (unknown.length === 0) {
      this.sendTargets(gatewayId, reported);
      return DONE;
    }
    return this.readPeers(gatewayId, unknown).then(() => this.sendTargets(gatewayId, reported));
  }

  /**
   * Sent only when the agent probes somewhere else than it should (it says where in each report):
   * after its (re)start, or when a peer's address became known or moved. Not once per frame.
   */
  private sendTargets(gatewayId: GatewayId, reported: Array<{ link: LinkWithEnds; report: LinkHealthReport }>): void {
    const targets = this.targetsOf(gatewayId, reported);
    if (reported.some(({ link, report }) => probes(report) && report.probe?.target !== targets.get(link.id))) {
      this.o.sendTargets(
        gatewayId,
        reported.flatMap(({ link }) => {
          const addr = targets.get(link.id);
          return addr ? [{ name: connName(asLinkId(link.id)), addr }] : [];
        }),
      );
    }
  }

  /**
   * A report the cache cannot vouch for: a link not cached (or not this gateway's), cached too
   * long, or an inner address outside the end's cached networks.
   */
  private stale(gatewayId: GatewayId, r: LinkHealthReport, now: number): boolean {
    const cached = this.links.get(r.name);
    if (!cached || now - cached.at >= CACHE_TTL_MS) return true;
    const { link } = cached;
    if (link.aId !== gatewayId && link.bId !== gatewayId) return true;
    return r.innerAddr !== undefined && !this.inside(cached, link.aId === gatewayId ? 'a' : 'b', r.innerAddr);
  }

  /** Whether an address lies inside the networks of this end of a cached link. */
  private inside(cached: CachedLink, end: LinkEnd, addr: string): boolean {
    if (cached.inside[end] === addr) return true;
    const ok = innerAddrFor(end === 'a' ? cached.link.aCidrs : cached.link.bCidrs, [addr]) !== undefined;
    if (ok) cached.inside[end] = addr;
    return ok;
  }

  /** Drops these links from the cache (changed CIDRs, deleted, state), so the next report of either end reads them again. For the controller's change feed. */
  linksChanged(linkIds: readonly string[]): void {
    for (const id of linkIds) {
      const cached = this.links.get(connName(asLinkId(id)));
      this.links.delete(connName(asLinkId(id)));
      if (cached) for (const gatewayId of [cached.link.aId, cached.link.bId]) this.remoteInner.delete(endKey(id, gatewayId));
    }
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

  /** Reads a gateway's live links into the cache; those it held before, or reports now, that are gone leave it and the metrics. */
  private async readLinks(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    const list = await this.limited(() => this.o.linksOf(gatewayId));
    const at = this.now();
    const names = new Set<string>();
    for (const link of list) {
      const name = connName(asLinkId(link.id));
      names.add(name);
      this.links.set(name, { at, link, inside: {} });
    }
    const before = this.readOf.get(gatewayId)?.names ?? new Set<string>();
    this.readOf.set(gatewayId, { at, names });
    for (const name of [...before, ...frame.links.map((r) => r.name)]) {
      const cached = this.links.get(name);
      if (names.has(name) || !cached || (cached.link.aId !== gatewayId && cached.link.bId !== gatewayId)) continue;
      this.links.delete(name);
      this.forgetLink(cached.link);
    }
  }

  /** Runs a database read once fewer than MAX_READS are in flight. */
  private async limited<T>(read: () => Promise<T>): Promise<T> {
    while (this.reads >= MAX_READS) await new Promise<void>((resolve) => this.readWaiters.push(resolve));
    this.reads++;
    try {
      return await read();
    } finally {
      this.reads--;
      this.readWaiters.shift()?.();
    }
  }

  /**
   * Reported links whose peer's inner address must be read from the database: the peer is not held
   * by this process, and its address is unknown for an interval, its probes from this end go
   * unanswered (the peer's address may have moved), or it was read CACHE_TTL_MS ago.
   */
  private peersToRead(gatewayId: GatewayId, reported: Array<{ link: LinkWithEnds; report: LinkHealthReport }>): LinkWithEnds[] {
    const now = this.now();
    return reported.flatMap(({ link, report }) => {
      const key = peerKeyOf(link, gatewayId);
      if (this.latest.has(key)) return [];
      const known = this.remoteInner.get(key);
      if (!known) return [link];
      const age = now - known.at;
      const stale = known.addr === null ? age >= MAX_FLUSH_MS : age >= CACHE_TTL_MS || ((report.probe?.failStreak ?? 0) > 0 && age >= LINK_REREAD_MS);
      return stale ? [link] : [];
    });
  }

  private async readPeers(gatewayId: GatewayId, links: LinkWithEnds[]): Promise<void> {
    const rows = await this.limited(() => this.o.store.forLinks(links.map((link) => link.id))).catch(() => []);
    const byEnd = new Map(rows.map((r) => [endKey(r.linkId, r.gatewayId), r.innerAddr]));
    for (const link of links) this.remoteInner.set(peerKeyOf(link, gatewayId), { addr: byEnd.get(peerKeyOf(link, gatewayId)) ?? null, at: this.now() });
  }

  /** Each reported link's peer inner address (by link id): from this process's own reports, else as read from the database. */
  private targetsOf(gatewayId: GatewayId, reported: Array<{ link: LinkWithEnds; report: LinkHealthReport }>): Map<string, string> {
    const targets = new Map<string, string>();
    for (const { link } of reported) {
      const key = peerKeyOf(link, gatewayId);
      const addr = this.latest.get(key)?.record.innerAddr ?? this.remoteInner.get(key)?.addr;
      if (addr) targets.set(link.id, addr);
    }
    return targets;
  }

  /** One sample per link: end a's view when this process holds it, else end b's. */
  private reportMetrics(link: LinkWithEnds): void {
    if (!this.o.metrics) return;
    const ends = [this.latest.get(endKey(link.id, link.aId)), this.latest.get(endKey(link.id, link.bId))].filter((e): e is LatestEnd => e !== undefined);
    const first = ends[0];
    if (!first) return;
    const r = first.record;
    this.o.metrics.report(link.id, {
      rxBytes: r.bytesIn,
      txBytes: r.bytesOut,
      ...(r.rttP50Ms !== null ? { rttSeconds: r.rttP50Ms / 1000 } : {}),
      up: ends.every((e) => e.record.installed && !e.failing),
    });
  }

  /**
   * Link ends not heard of for three of their intervals are dropped (the agent left, or the link
   * went), and so are cached link lists and peer addresses past their time (gateways gone).
   */
  private forgetQuiet(): void {
    const now = this.now();
    for (const [key, entry] of this.latest) {
      if (now - entry.seenAt <= 3 * entry.intervalMs + MAX_FLUSH_MS) continue;
      this.latest.delete(key);
      if (!this.latest.has(entry.peerKey)) this.o.metrics?.forget(entry.record.linkId);
    }
    for (const [name, cached] of this.links) if (now - cached.at >= 2 * CACHE_TTL_MS) this.links.delete(name);
    for (const [gatewayId, read] of this.readOf) if (now - read.at >= 2 * CACHE_TTL_MS) this.readOf.delete(gatewayId);
    for (const [key, known] of this.remoteInner) if (now - known.at >= CACHE_TTL_MS) this.remoteInner.delete(key);
  }

  private forgetLink(link: LinkWithEnds): void {
    this.latest.delete(endKey(link.id, link.aId));
    this.latest.delete(endKey(link.id, link.bId));
    this.o.metrics?.forget(link.id);
  }
}

const peerKeyOf = (link: LinkWithEnds, gatewayId: string): string => endKey(link.id, link.aId === gatewayId ? link.bId : link.aId);

/** What a row says beyond its figures: a change in it is written at the next flush (FIGURES_EVERY_INTERVALS). */
function kindOf(r: LinkHealthRecord): string {
  const streak = r.probeFailStreak;
  const probes = streak === null ? '-' : streak === 0 ? 'ok' : streak < PROBE_FAIL_INTERVALS ? 'missed' : 'failing';
  return `${r.installed}|${r.innerAddr ?? ''}|${probes}`;
}

/** Whether the agent probes this link once it has a target (monitor.ts: an inner address and an installed CHILD_SA). */
const probes = (report: LinkHealthReport): boolean => report.installed && report.innerAddr !== undefined;

/** A report as a row: idle and lifetime seconds become times, the inner address only when inside the end's networks (`inside`: the caller checked already). */
export function toRecord(link: LinkWithEnds, gatewayId: GatewayId, end: LinkEnd, report: LinkHealthReport, measuredAt: Date, inside?: boolean): LinkHealthRecord {
  const at = measuredAt.getTime();
  const ago = (s: number | undefined): Date | null => (s === undefined ? null : new Date(at - s * 1000));
  const ahead = (s: number | undefined): Date | null => (s === undefined ? null : new Date(at + s * 1000));
  const cidrs = end === 'a' ? link.aCidrs : link.bCidrs;
  const innerAddr = report.innerAddr !== undefined && (inside ?? innerAddrFor(cidrs, [report.innerAddr]) !== undefined) ? report.innerAddr : null;
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
