// The controller's Prometheus metrics: one registry per controller runtime (one per process in
// production) holding every family, with the label children that hot paths use bound once, here,
// so that counting costs a property read and an add (the hub serves 18,000 agents). Label values
// come from fixed sets (methods, outcomes, reasons, providers, API classes, operation kinds): no
// label ever names an agent or a gateway. Per-link series are the link-health code's to report
// (LinkHealthMetrics); nothing here invents them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Methods, CloseCode, type Method } from '../protocol/messages';
import { API_CLASSES, type ApiClass } from '../cloud/queues';
import { PROVIDER_NAMES } from '../cloud/capabilities';
import type { CloudProviderName } from '../cloud/types';

export const METRIC_PREFIX = 'ipsecmesh_';

/** States a link row can be in (store/links.ts); each is reported, zero when no link is in it. */
export const LINK_STATES = ['provisioning', 'up', 'degraded', 'updating', 'failed', 'deleting', 'deleted'] as const;

const processRegistries = new Map<string, Registry>();

/**
 * Node's default metrics (CPU, memory, event loop, GC) under `prefix`, once per process:
 * collectDefaultMetrics starts observers that are never stopped, so every runtime of a process
 * (tests start several) shares one set.
 */
export function processMetrics(prefix = METRIC_PREFIX): Registry {
  let registry = processRegistries.get(prefix);
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    processRegistries.set(prefix, registry);
  }
  return registry;
}

// ---- hub --------------------------------------------------------------------------------------

export const RPC_OUTCOMES = ['ok', 'agent_error', 'timeout', 'disconnected', 'bad_response', 'shutting_down'] as const;
export type RpcOutcome = (typeof RPC_OUTCOMES)[number];

/** Why an agent (or an enrolment) was refused before it was let in. */
export const AUTH_FAILURE_REASONS = ['malformed', 'unknown_gateway', 'wrong_secret', 'blocked', 'enrolment_refused', 'enrolment_blocked'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Close codes of agent sockets, by name; anything else is "other". */
const CLOSE_REASONS: ReadonlyArray<readonly [number, string]> = [
  [CloseCode.normal, 'normal'],
  [CloseCode.goingAway, 'going_away'],
  [1005, 'no_status'],
  [1006, 'abnormal'],
  [CloseCode.malformed, 'malformed'],
  [CloseCode.tooBig, 'too_big'],
  [CloseCode.replaced, 'replaced'],
  [CloseCode.helloTimeout, 'hello_timeout'],
  [CloseCode.heartbeatTimeout, 'heartbeat_timeout'],
  [CloseCode.revoked, 'revoked'],
  [CloseCode.secretRotated, 'secret_rotated'],
];

/** RPC latency buckets: from a local agent's few milliseconds to the hub's 20 s timeout and initiate's longer waits. */
const RPC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60];

type Inc = { inc(value?: number): void };

/** A record with one entry per key: label children bound once, looked up by property. */
export function keyed<K extends string, T>(keys: readonly K[], make: (key: K) => T): Record<K, T> {
  return Object.fromEntries(keys.map((key) => [key, make(key)])) as Record<K, T>;
}
type Observe = { observe(value: number): void };

export class HubMetrics {
  /** Latency of each RPC the hub sent, by method and outcome (bound children). */
  readonly rpc: Record<Method, Record<RpcOutcome, Observe>>;
  readonly authFailures: Record<AuthFailureReason, Inc>;
  readonly hellos: Inc;
  readonly preauthRefused: Record<'per-source' | 'total', Inc>;
  private readonly disconnects = new Map<number, Inc>();
  private readonly otherDisconnect: Inc;
  private readonly heartbeatDisconnect: Inc;
  private connected: () => number = () => 0;

  constructor(registry: Registry) {
    const rpc = new Histogram({
      name: `${METRIC_PREFIX}hub_rpc_duration_seconds`,
      help: 'Time from sending a request to an agent to its answer (or its failure), by method and outcome; requests to agents this process does not hold are not counted.',
      labelNames: ['method', 'outcome'],
      buckets: RPC_BUCKETS,
      registers: [registry],
    });
    this.rpc = keyed(Object.keys(Methods) as Method[], (method) => keyed(RPC_OUTCOMES, (outcome) => rpc.labels(method, outcome)));
    const auth = new Counter({
      name: `${METRIC_PREFIX}hub_auth_failures_total`,
      help: 'Agents (and enrolments) refused on the agent listener, by reason; "blocked" is a source refused for too many failures.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.authFailures = keyed(AUTH_FAILURE_REASONS, (reason) => auth.labels(reason));
    this.hellos = new Counter({ name: `${METRIC_PREFIX}hub_hellos_total`, help: 'Agents welcomed by this process (a hello accepted and recorded); reconnects count again.', registers: [registry] });
    const refused = new Counter({
      name: `${METRIC_PREFIX}hub_preauth_refused_total`,
      help: 'TCP connections to the agent listener closed at once for exceeding the pre-authentication limits, by limit.',
      labelNames: ['limit'],
      registers: [registry],
    });
    this.preauthRefused = { 'per-source': refused.labels('per-source'), total: refused.labels('total') };
    const disconnects = new Counter({
      name: `${METRIC_PREFIX}hub_disconnects_total`,
      help: 'Authenticated agent sockets that closed, by WebSocket close reason (heartbeat_timeout: the hub cut a silent socket).',
      labelNames: ['reason'],
      registers: [registry],
    });
    for (const [code, reason] of CLOSE_REASONS) this.disconnects.set(code, disconnects.labels(reason));
    this.otherDisconnect = disconnects.labels('other');
    this.heartbeatDisconnect = disconnects.labels('heartbeat_timeout');
    const connected = (): number => this.connected();
    new Gauge({
      name: `${METRIC_PREFIX}hub_agents_connected`,
      help: 'Agents connected to this controller process (said hello); sum over processes for the fleet.',
      registers: [registry],
      collect() {
        this.set(connected());
      },
    });
  }

  /** The hub reports how many agents it holds, read at scrape time (nothing to do per connection). */
  watchConnected(count: () => number): void {
    this.connected = count;
  }

  /** An authenticated socket closed with `code` (the hub's own heartbeat cut: `heartbeat`). */
  disconnected(code: number, heartbeat: boolean): void {
    (heartbeat ? this.heartbeatDisconnect : (this.disconnects.get(code) ?? this.otherDisconnect)).inc();
  }
}

// ---- cloud ------------------------------------------------------------------------------------

export const CLOUD_OUTCOMES = ['ok', 'throttled', 'error'] as const;
export type CloudOutcome = (typeof CLOUD_OUTCOMES)[number];

/** Pacer waits: none at all, up to the tens of seconds a busy budget's backlog can queue. */
const PACER_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class CloudMetrics {
  /** Provider API calls by provider, budget class and outcome (bound children). */
  readonly calls: Record<CloudProviderName, Record<ApiClass, Record<CloudOutcome, Inc>>>;
  /** Time each call waited for its budget's slot. */
  readonly pacerWait: Record<CloudProviderName, Record<ApiClass, Observe>>;

  constructor(registry: Registry) {
    const calls = new Counter({
      name: `${METRIC_PREFIX}cloud_api_calls_total`,
      help: 'Cloud provider API calls made by this process, by provider, API class (the rate-limit budget) and outcome (ok, throttled, error).',
      labelNames: ['provider', 'api_class', 'outcome'],
      registers: [registry],
    });
    const wait = new Histogram({
      name: `${METRIC_PREFIX}cloud_pacer_wait_seconds`,
      help: "Time a cloud call waited for its budget's next slot (cloud/pacer.ts), by provider and API class.",
      labelNames: ['provider', 'api_class'],
      buckets: PACER_BUCKETS,
      registers: [registry],
    });
    this.calls = keyed(PROVIDER_NAMES, (p) => keyed(API_CLASSES, (c) => keyed(CLOUD_OUTCOMES, (o) => calls.labels(p, c, o))));
    this.pacerWait = keyed(PROVIDER_NAMES, (p) => keyed(API_CLASSES, (c) => wait.labels(p, c)));
  }
}

// ---- operations -------------------------------------------------------------------------------

/** What an operation on a link is: created, its CIDRs changed, its key rotated, a moved gateway followed, deleted. */
export const OPERATION_KINDS = ['link_create', 'cidr_change', 'key_rotation', 'recovery', 'link_delete'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** Operations take from a second (a change on live agents) to many minutes (a gateway that is away). */
const OPERATION_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export class OperationMetrics {
  readonly started: Record<OperationKind, Inc>;
  readonly completed: Record<OperationKind, Inc>;
  readonly failed: Record<OperationKind, Inc>;
  readonly duration: Record<OperationKind, Record<'completed' | 'failed', Observe>>;

  constructor(registry: Registry) {
    const counter = (what: string, help: string) =>
      new Counter({ name: `${METRIC_PREFIX}operations_${what}_total`, help, labelNames: ['kind'], registers: [registry] });
    const started = counter('started', 'Link operations started, by kind; counted once, by the process where the request or the state change happened.');
    const completed = counter('completed', 'Link operations that finished with the link up (or deleted), by kind; counted at the state change the database applied.');
    const failed = counter('failed', 'Link operations that left the link failed, by kind; counted at the state change the database applied.');
    const duration = new Histogram({
      name: `${METRIC_PREFIX}operation_duration_seconds`,
      help: "Time from an operation's request (or, for a recovery, the link leaving up) to its end, by kind and outcome.",
      labelNames: ['kind', 'outcome'],
      buckets: OPERATION_BUCKETS,
      registers: [registry],
    });
    this.started = keyed(OPERATION_KINDS, (k) => started.labels(k));
    this.completed = keyed(OPERATION_KINDS, (k) => completed.labels(k));
    this.failed = keyed(OPERATION_KINDS, (k) => failed.labels(k));
    this.duration = keyed(OPERATION_KINDS, (k) => ({ completed: duration.labels(k, 'completed'), failed: duration.labels(k, 'failed') }));
  }

  /** An operation ended after `seconds` (unknown start: counted without a duration). */
  ended(kind: OperationKind, outcome: 'completed' | 'failed', seconds: number | undefined): void {
    (outcome === 'completed' ? this.completed : this.failed)[kind].inc();
    if (seconds !== undefined && seconds >= 0) this.duration[kind][outcome].observe(seconds);
  }
}

// ---- links ------------------------------------------------------------------------------------

/** One link's data-plane figures, as the link-health code (issue 10, item 1) measures them. */
export interface LinkHealthSample {
  rxBytes: number;
  txBytes: number;
  /** Round-trip time through the tunnel; absent until a probe answered. */
  rttSeconds?: number;
  up: boolean;
}

/**
 * The hook for per-link series: the link-health code calls report() with each link's latest
 * figures and forget() when a link is deleted. Until it does, these families have no samples.
 * Cardinality is bounded by the number of links.
 */
export class LinkHealthMetrics {
  private readonly samples = new Map<string, LinkHealthSample>();

  constructor(registry: Registry) {
    const samples = this.samples;
    const family = <T extends 'rxBytes' | 'txBytes' | 'rttSeconds' | 'up'>(name: string, help: string, field: T, type: 'counter' | 'gauge') => {
      const options = {
        name: `${METRIC_PREFIX}${name}`,
        help,
        labelNames: ['link'],
        registers: [registry],
      };
      if (type === 'counter') {
        new Counter({
          ...options,
          collect() {
            this.reset();
            for (const [link, s] of samples) this.inc({ link }, Number(s[field]));
          },
        });
      } else {
        new Gauge({
          ...options,
          collect() {
            this.reset();
            for (const [link, s] of samples) if (s[field] !== undefined) this.set({ link }, Number(s[field]));
          },
        });
      }
    };
    family('link_rx_bytes_total', "Bytes received through the link's tunnel (CHILD_SA counters, as the link-health reports give them).", 'rxBytes', 'counter');
    family('link_tx_bytes_total', "Bytes sent through the link's tunnel.", 'txBytes', 'counter');
    family('link_rtt_seconds', "Round-trip time of the latest probe through the link's tunnel.", 'rttSeconds', 'gauge');
    family('link_up', '1 when the link passes traffic by its latest health report, else 0.', 'up', 'gauge');
  }

  /** Called for every health report (1,800 a second at 18,000 agents): a link's sample is updated in place, so only new links add to the heap. */
  report(linkId: string, sample: LinkHealthSample): void {
    const kept = this.samples.get(linkId);
    if (!kept) {
      this.samples.set(linkId, { ...sample });
      return;
    }
    kept.rxBytes = sample.rxBytes;
    kept.txBytes = sample.txBytes;
    kept.rttSeconds = sample.rttSeconds;
    kept.up = sample.up;
  }

  forget(linkId: string): void {
    this.samples.delete(linkId);
  }
}

// ---- the registry -----------------------------------------------------------------------------

export interface ControllerMetricsOptions {
  /** Links per state across the deployment, read at scrape time (the caller caches it). */
  linkStates?: () => Promise<ReadonlyMap<string, number>>;
}

export class ControllerMetrics {
  /** This runtime's own families. */
  readonly registry = new Registry();
  readonly hub: HubMetrics;
  readonly cloud: CloudMetrics;
  readonly operations: OperationMetrics;
  readonly linkHealth: LinkHealthMetrics;
  /** What /metrics serves: this runtime's families and the process's default metrics. */
  readonly exposition: Registry;

  constructor(options: ControllerMetricsOptions = {}) {
    this.hub = new HubMetrics(this.registry);
    this.cloud = new CloudMetrics(this.registry);
    this.operations = new OperationMetrics(this.registry);
    this.linkHealth = new LinkHealthMetrics(this.registry);
    const linkStates = options.linkStates;
    if (linkStates) {
      new Gauge({
        name: `${METRIC_PREFIX}links`,
        help: 'Links by state, counted in the shared database (cached a few seconds): every controller reports the same deployment-wide counts, so aggregate with max(), not sum().',
        labelNames: ['state'],
        registers: [this.registry],
        async collect() {
          const counts = await linkStates();
          this.reset();
          for (const state of LINK_STATES) this.set({ state }, counts.get(state) ?? 0);
          for (const [state, count] of counts) if (!(LINK_STATES as readonly string[]).includes(state)) this.set({ state }, count);
        },
      });
    }
    this.exposition = Registry.merge([processMetrics(), this.registry]);
  }
}
