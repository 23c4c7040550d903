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
 * intervals. Every interval was 1,800 rows a second at 18,000 agents, and each row costs the
 * controller CPU to write (~19 µs on PostgreSQL, store/health.ts; ~60 µs before the rows went as JSON).
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

/**
 * A link as last read through either of its ends: only what the reports are checked against (the
 * gateways' own records stay out of this process's heap, 9,000 links of it at 18,000 agents).
 */
interface CachedLink {
  at: number;
  id: string;
  state: string;
  a: CachedEnd;
  b: CachedEnd;
}

interface CachedEnd {
  gatewayId: string;
  gatewayName: string;
  cidrs: string[];
  /** This end's key in `latest`, made once per read rather than once per report. */
  key: string;
  /** The inner address last found inside its networks: an agent repeats it every frame, and parsing CIDRs each time showed in profiles. */
  inside?: string;
  /** Its entry in `latest` as last found (see entryOf). */
  entry?: LatestEnd;
}

/**
 * The latest report of one link end seen by this process, kept as plain numbers and updated in
 * place: a new record (with its Dates) per frame lived until the next one, so each frame's
 * record outlived the young generation and 1,800 a second piled up in the old one (bench:hub
 * saw the heap grow by 340 MiB and the hub's main thread spend a fifth of its time in GC).
 * The row is made from it when it is written (recordOf).
 */
interface LatestEnd {
  linkId: string;
  gatewayId: GatewayId;
  end: LinkEnd;
  /** The other end's key in `latest`, so a link's two ends are found without a scan. */
  peerKey: string;
  installed: boolean;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  /** Epoch milliseconds, as the report's seconds make them from its measuring time; NaN: not reported. */
  lastInAt: number;
  lastOutAt: number;
  establishedAt: number;
  rekeyAt: number;
  innerAddr: string | null;
  rttP50Ms: number | null;
  probesSent: number;
  probesAnswered: number;
  probeFailStreak: number | null;
  measuredAt: number;
  seenAt: number;
  intervalMs: number;
  failing: boolean;
  /** When this end's row was last queued for writing, and what it said then beyond its figures (see FIGURES_EVERY_INTERVALS). */
  writtenAt: number;
  writtenInstalled: boolean;
  writtenInner: string | null;
  writtenProbes: ProbeKind;
  /** Out of `latest` (forgotten): a link's reference to it no longer counts. */
  gone: boolean;
}

/** An end's probes: not probing, all answered, some interval missed, failing. */
type ProbeKind = 0 | 1 | 2 | 3;

/** Frames of one gateway: the one being taken, and one waiting behind it (a newer frame takes its place). */
interface Flow {
  running: Promise<void>;
  queued?: { frame: HealthFrame; done: Promise<void> };
}

const endKey = (linkId: string, gatewayId: string): string => `${linkId}|${gatewayId}`;

export class HealthCollector {
  /** Link ends whose row is due at the next flush, by key; each is written with its newest figures. */
  private readonly pending = new Map<string, LatestEnd>();
  /** Latest report per link end seen by this process, and when (for metrics and probe targets). */
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
  /**
   * Per gateway, frames whose handling waits for the database, so a slow database cannot queue
   * frames without bound. A frame the caches answer is done at once and leaves nothing here.
   */
  private readonly flows = new Map<GatewayId, Flow>();
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
    // Mostly nothing waits on the database, and then there is no flow to look up.
    const flow = this.flows.size === 0 ? undefined : this.flows.get(gatewayId);
    if (flow?.queued) {
      flow.queued.frame = frame;
      return flow.queued.done;
    }
    if (flow) {
      const queued = { frame } as NonNullable<Flow['queued']>;
      const take = (): Promise<void> => {
        flow.queued = undefined;
        return this.takeSafely(gatewayId, queued.frame);
      };
      queued.done = flow.running.then(take, take);
      flow.queued = queued;
      this.follow(gatewayId, flow, queued.done);
      return queued.done;
    }
    const done = this.takeSafely(gatewayId, frame);
    if (done !== DONE) {
      const started: Flow = { running: done };
      this.flows.set(gatewayId, started);
      this.follow(gatewayId, started, done);
    }
    return done;
  }

  /** Makes `done` the gateway's running frame, and drops the flow once the last of its frames is done. */
  private follow(gatewayId: GatewayId, flow: Flow, done: Promise<void>): void {
    flow.running = done;
    const settled = (): void => {
      if (flow.running === done && !flow.queued && this.flows.get(gatewayId) === flow) this.flows.delete(gatewayId);
    };
    done.then(settled, settled);
  }

  private takeSafely(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    try {
      return this.take(gatewayId, frame);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Without a promise of its own unless the database must be read: most frames need only the caches. */
  private take(gatewayId: GatewayId, frame: HealthFrame): Promise<void> {
    const now = this.now();
    const links = this.cachedLinks(frame);
    let stale = false;
    for (let i = 0; i < links.length && !stale; i++) stale = this.stale(gatewayId, links[i], frame.links[i]!, now);
    if (stale) {
      const lastRead = this.readOf.get(gatewayId)?.at;
      if (lastRead === undefined || now - lastRead >= LINK_REREAD_MS) return this.readLinks(gatewayId, frame).then(() => this.apply(gatewayId, frame, this.cachedLinks(frame)));
    }
    return this.apply(gatewayId, frame, links);
  }

  /** The cached link of each report, in order (one map lookup per report and frame). */
  private cachedLinks(frame: HealthFrame): Array<CachedLink | undefined> {
    const links = new Array<CachedLink | undefined>(frame.links.length);
    for (let i = 0; i < links.length; i++) links[i] = this.links.get(frame.links[i]!.name);
    return links;
  }

  private apply(gatewayId: GatewayId, frame: HealthFrame, links: Array<CachedLink | undefined>): Promise<void> {
    const now = this.now();
    const measuredAt = Math.min(Date.parse(frame.at), now);
    let peersToRead: CachedLink[] | undefined;
    let retarget = false;
    for (let i = 0; i < links.length; i++) {
      const report = frame.links[i]!;
      const link = links[i];
      const end = link && sideOf(link, gatewayId);
      if (!link || !end) {
        this.ignored++;
        this.o.log.debug('health report for a link the gateway is not an end of; ignored', { gatewayId, name: report.name });
        continue;
      }
      const own = link[end];
      const other = link[end === 'a' ? 'b' : 'a'];
      const innerAddr = report.innerAddr !== undefined && this.inside(own, report.innerAddr) ? report.innerAddr : null;
      const previous = this.entryOf(own);
      const entry = previous ?? newEnd(link.id, gatewayId, end, other.key);
      const wasFailing = previous?.failing;
      update(entry, report, innerAddr, measuredAt, now, frame.intervalMs);
      const probesNow = probeKind(entry.probeFailStreak);
      // A row is due when what it says changed in kind, or its figures are old enough; one already
      // due this flush is the same object, so it is written with the newest figures anyway.
      const due =
        !previous ||
        entry.writtenInstalled !== entry.installed ||
        entry.writtenInner !== entry.innerAddr ||
        entry.writtenProbes !== probesNow ||
        now - entry.writtenAt >= (FIGURES_EVERY_INTERVALS - 0.5) * frame.intervalMs;
      if (due) {
        entry.writtenAt = now;
        entry.writtenInstalled = entry.installed;
        entry.writtenInner = entry.innerAddr;
        entry.writtenProbes = probesNow;
        this.pending.set(own.key, entry);
      }
      if (!previous) {
        this.latest.set(own.key, entry);
        own.entry = entry;
      }
      const passing = report.probe !== undefined && report.probe.answered > 0;
      if (entry.failing && wasFailing !== true) {
        const seconds = Math.round((entry.probeFailStreak! * frame.intervalMs) / 1000);
        this.o.onVerdict({ linkId: link.id, gatewayId, failing: true, reason: `no probe answer from ${other.gatewayName} through the tunnel for ${seconds} s; IKE is up` });
      } else if (passing && (wasFailing === true || (previous === undefined && link.state === 'degraded'))) {
        // First sight (e.g. after a controller restart): only a degraded link may wait for this.
        this.o.onVerdict({ linkId: link.id, gatewayId, failing: false });
      }
      const peer = this.entryOf(other);
      this.reportMetrics(link.id, end === 'a' ? entry : peer, end === 'a' ? peer : entry);
      if (!peer && this.peerUnknown(other.key, report, now)) (peersToRead ??= []).push(link);
      else if (!retarget && probes(report) && report.probe?.target !== this.targetOf(other.key, peer)) retarget = true;
    }
    this.scheduleFlush(frame.intervalMs);
    if (peersToRead) return this.readPeers(gatewayId, peersToRead).then(() => this.sendTargets(gatewayId, frame));
    if (retarget) this.sendTargets(gatewayId, frame);
    return DONE;
  }

  /**
   * Sent only when the agent probes somewhere else than it should (it says where in each report):
   * after its (re)start, or when a peer's address became known or moved. Not once per frame.
   */
  private sendTargets(gatewayId: GatewayId, frame: HealthFrame): void {
    const targets: ProbeTarget[] = [];
    let differs = false;
    for (const report of frame.links) {
      const link = this.links.get(report.name);
      const end = link && sideOf(link, gatewayId);
      if (!link || !end) continue;
      const other = link[end === 'a' ? 'b' : 'a'];
      const addr = this.targetOf(other.key, this.latest.get(other.key));
      if (probes(report) && report.probe?.target !== addr) differs = true;
      if (addr) targets.push({ name: report.name, addr });
    }
    if (differs) this.o.sendTargets(gatewayId, targets);
  }

  /** A peer end's inner address: from this process's own reports, else as read from the database. */
  private targetOf(peerKey: string, local: LatestEnd | undefined): string | undefined {
    return (local ? local.innerAddr : this.remoteInner.get(peerKey)?.addr) ?? undefined;
  }

  /** An end's entry: through the cached end's own reference while that is still the one in `latest`, else looked up there (and remembered). */
  private entryOf(end: CachedEnd): LatestEnd | undefined {
    if (end.entry && !end.entry.gone) return end.entry;
    end.entry = this.latest.get(end.key);
    return end.entry;
  }

  /** Takes an end out of `latest`; references to it held by cached links go stale with it. */
  private dropEnd(key: string): void {
    const entry = this.latest.get(key);
    if (!entry) return;
    entry.gone = true;
    this.latest.delete(key);
  }

  /**
   * A report the cache cannot vouch for: a link not cached (or not this gateway's), cached too
   * long, or an inner address outside the end's cached networks.
   */
  private stale(gatewayId: GatewayId, link: CachedLink | undefined, r: LinkHealthReport, now: number): boolean {
    const end = link && sideOf(link, gatewayId);
    if (!link || !end || now - link.at >= CACHE_TTL_MS) return true;
    return r.innerAddr !== undefined && !this.inside(link[end], r.innerAddr);
  }

  /** Whether an address lies inside the networks of a cached link end. */
  private inside(end: CachedEnd, addr: string): boolean {
    if (end.inside === addr) return true;
    const ok = innerAddrFor(end.cidrs, [addr]) !== undefined;
    if (ok) end.inside = addr;
    return ok;
  }

  /** Drops these links from the cache (changed CIDRs, deleted, state), so the next report of either end reads them again. For the controller's change feed. */
  linksChanged(linkIds: readonly string[]): void {
    for (const id of linkIds) {
      const name = connName(asLinkId(id));
      const cached = this.links.get(name);
      this.links.delete(name);
      if (cached) {
        this.remoteInner.delete(cached.a.key);
        this.remoteInner.delete(cached.b.key);
      }
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
      const records = Array.from(this.pending.values(), recordOf);
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
      this.links.set(name, cachedLink(link, at));
    }
    const before = this.readOf.get(gatewayId)?.names ?? new Set<string>();
    this.readOf.set(gatewayId, { at, names });
    for (const name of [...before, ...frame.links.map((r) => r.name)]) {
      const cached = this.links.get(name);
      if (names.has(name) || !cached || !sideOf(cached, gatewayId)) continue;
      this.links.delete(name);
      this.forgetLink(cached);
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
   * Whether a peer end not held by this process must have its inner address read from the
   * database: unknown for an interval, its probes from this end go unanswered (the peer's address
   * may have moved), or it was read CACHE_TTL_MS ago.
   */
  private peerUnknown(peerKey: string, report: LinkHealthReport, now: number): boolean {
    const known = this.remoteInner.get(peerKey);
    if (!known) return true;
    const age = now - known.at;
    return known.addr === null ? age >= MAX_FLUSH_MS : age >= CACHE_TTL_MS || ((report.probe?.failStreak ?? 0) > 0 && age >= LINK_REREAD_MS);
  }

  private async readPeers(gatewayId: GatewayId, links: CachedLink[]): Promise<void> {
    const rows = await this.limited(() => this.o.store.forLinks(links.map((link) => link.id))).catch(() => []);
    const byEnd = new Map(rows.map((r) => [endKey(r.linkId, r.gatewayId), r.innerAddr]));
    const at = this.now();
    for (const link of links) {
      const peerKey = link[sideOf(link, gatewayId) === 'a' ? 'b' : 'a'].key;
      this.remoteInner.set(peerKey, { addr: byEnd.get(peerKey) ?? null, at });
    }
  }

  /** One sample per link: end a's view when this process holds it, else end b's. */
  private reportMetrics(linkId: string, a: LatestEnd | undefined, b: LatestEnd | undefined): void {
    const first = a ?? b;
    if (!this.o.metrics || !first) return;
    const up = (!a || (a.installed && !a.failing)) && (!b || (b.installed && !b.failing));
    if (first.rttP50Ms !== null) this.o.metrics.report(linkId, { rxBytes: first.bytesIn, txBytes: first.bytesOut, rttSeconds: first.rttP50Ms / 1000, up });
    else this.o.metrics.report(linkId, { rxBytes: first.bytesIn, txBytes: first.bytesOut, up });
  }

  /**
   * Link ends not heard of for three of their intervals are dropped (the agent left, or the link
   * went), and so are cached link lists and peer addresses past their time (gateways gone).
   */
  private forgetQuiet(): void {
    const now = this.now();
    for (const [key, entry] of this.latest) {
      if (now - entry.seenAt <= 3 * entry.intervalMs + MAX_FLUSH_MS) continue;
      this.dropEnd(key);
      if (!this.latest.has(entry.peerKey)) this.o.metrics?.forget(entry.linkId);
    }
    for (const [name, cached] of this.links) if (now - cached.at >= 2 * CACHE_TTL_MS) this.links.delete(name);
    for (const [gatewayId, read] of this.readOf) if (now - read.at >= 2 * CACHE_TTL_MS) this.readOf.delete(gatewayId);
    for (const [key, known] of this.remoteInner) if (now - known.at >= CACHE_TTL_MS) this.remoteInner.delete(key);
  }

  private forgetLink(link: CachedLink): void {
    this.dropEnd(link.a.key);
    this.dropEnd(link.b.key);
    this.o.metrics?.forget(link.id);
  }
}

function cachedLink(link: LinkWithEnds, at: number): CachedLink {
  const end = (gatewayId: string, gatewayName: string, cidrs: string[]): CachedEnd => ({ gatewayId, gatewayName, cidrs, key: endKey(link.id, gatewayId) });
  return { at, id: link.id, state: link.state, a: end(link.aId, link.a.name, link.aCidrs), b: end(link.bId, link.b.name, link.bCidrs) };
}

/** Which end of a cached link a gateway is, if any. */
const sideOf = (link: CachedLink, gatewayId: string): LinkEnd | undefined => (link.a.gatewayId === gatewayId ? 'a' : link.b.gatewayId === gatewayId ? 'b' : undefined);

function newEnd(linkId: string, gatewayId: GatewayId, end: LinkEnd, peerKey: string): LatestEnd {
  return {
    linkId,
    gatewayId,
    end,
    peerKey,
    installed: false,
    bytesIn: 0,
    bytesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
    lastInAt: NaN,
    lastOutAt: NaN,
    establishedAt: NaN,
    rekeyAt: NaN,
    innerAddr: null,
    rttP50Ms: null,
    probesSent: 0,
    probesAnswered: 0,
    probeFailStreak: null,
    measuredAt: 0,
    seenAt: 0,
    intervalMs: 0,
    failing: false,
    writtenAt: 0,
    writtenInstalled: false,
    writtenInner: null,
    writtenProbes: 0,
    gone: false,
  };
}

/** Copies a report into its end's entry: idle and lifetime seconds become times; `innerAddr` only when inside the end's networks (checked by the caller). */
function update(entry: LatestEnd, report: LinkHealthReport, innerAddr: string | null, measuredAt: number, now: number, intervalMs: number): void {
  entry.installed = report.installed;
  entry.bytesIn = report.bytesIn;
  entry.bytesOut = report.bytesOut;
  entry.packetsIn = report.packetsIn;
  entry.packetsOut = report.packetsOut;
  entry.lastInAt = report.idleIn === undefined ? NaN : measuredAt - report.idleIn * 1000;
  entry.lastOutAt = report.idleOut === undefined ? NaN : measuredAt - report.idleOut * 1000;
  entry.establishedAt = report.installedFor === undefined ? NaN : measuredAt - report.installedFor * 1000;
  entry.rekeyAt = report.rekeyIn === undefined ? NaN : measuredAt + report.rekeyIn * 1000;
  entry.innerAddr = innerAddr;
  const probe = report.probe;
  entry.rttP50Ms = probe?.rttP50Ms ?? null;
  entry.probesSent = probe?.sent ?? 0;
  entry.probesAnswered = probe?.answered ?? 0;
  entry.probeFailStreak = probe ? probe.failStreak : null;
  entry.measuredAt = measuredAt;
  entry.seenAt = now;
  entry.intervalMs = intervalMs;
  entry.failing = probe !== undefined && report.installed && probe.failStreak >= PROBE_FAIL_INTERVALS;
}

/** What an end's probes say beyond their figures: a change is written at the next flush (FIGURES_EVERY_INTERVALS). */
function probeKind(streak: number | null): ProbeKind {
  return streak === null ? 0 : streak === 0 ? 1 : streak < PROBE_FAIL_INTERVALS ? 2 : 3;
}

const dateOrNull = (ms: number): Date | null => (Number.isNaN(ms) ? null : new Date(ms));

/** An end's entry as the row written for it. */
function recordOf(e: LatestEnd): LinkHealthRecord {
  return {
    linkId: e.linkId,
    gatewayId: e.gatewayId,
    end: e.end,
    installed: e.installed,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    packetsIn: e.packetsIn,
    packetsOut: e.packetsOut,
    lastInAt: dateOrNull(e.lastInAt),
    lastOutAt: dateOrNull(e.lastOutAt),
    establishedAt: dateOrNull(e.establishedAt),
    rekeyAt: dateOrNull(e.rekeyAt),
    innerAddr: e.innerAddr,
    rttP50Ms: e.rttP50Ms,
    probesSent: e.probesSent,
    probesAnswered: e.probesAnswered,
    probeFailStreak: e.probeFailStreak,
    measuredAt: new Date(e.measuredAt),
  };
}

/** Whether the agent probes this link once it has a target (monitor.ts: an inner address and an installed CHILD_SA). */
const probes = (report: LinkHealthReport): boolean => report.installed && report.innerAddr !== undefined;
