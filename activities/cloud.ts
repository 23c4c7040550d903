// Cloud activities. Each one that calls a provider makes exactly one API call and runs on the task
// queue of its rate-limit budget (cloud/budgets.ts); the workflow picks the queue.
import { ApplicationFailure, type ApplicationFailureOptions } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { ApiClass } from '../cloud/queues';
import { heartbeating } from './heartbeat';
import type { CloudMetrics } from '../lib/metrics';
import { CloudError, type CloudProvider, type CloudTarget, type DiscoveredGateway, type PeerRule, type ProviderCapabilities, type RouteSpec, type RouteState } from '../cloud/types';

export interface CloudAccountRef {
  accountId: string;
  region: string;
}

/** Resolves an account + region to a provider (credentials decrypted, endpoints applied). */
export type ProviderFor = (ref: CloudAccountRef) => Promise<{ provider: CloudProvider; target: CloudTarget }>;

/** Failure types carried to the workflow: "Cloud.<kind>", with the provider's code in details. */
export const cloudFailureType = (kind: CloudError['kind']): string => `Cloud.${kind}`;

export interface CloudFailureDetails {
  kind: CloudError['kind'];
  providerCode?: string;
  /** Activity attempt that failed: a duplicate on a retry may be our own earlier, lost success. */
  attempt: number;
}

/**
 * Throttling and busy tables are retried with a delay and never surface as failures; permanent
 * errors fail fast, non-retryable, with the provider's code and message.
 */
export function toFailure(err: unknown, what: string): never {
  if (!(err instanceof CloudError)) throw err;
  const attempt = safeAttempt();
  const details: CloudFailureDetails = { kind: err.kind, attempt, ...(err.providerCode ? { providerCode: err.providerCode } : {}) };
  const opts: ApplicationFailureOptions = {
    message: `${what}: ${err.message}`,
    type: cloudFailureType(err.kind),
    details: [details],
    nonRetryable: !err.retryable,
  };
  if (err.retryable) {
    // Back off harder on each attempt, with jitter so parked calls do not return in a burst.
    const base = err.retryAfterMs ?? (err.kind === 'throttled' ? 1000 : 500);
    opts.nextRetryDelay = Math.min(30_000, Math.round(base * 2 ** Math.min(attempt - 1, 5) * (0.75 + Math.random() * 0.5)));
  }
  throw ApplicationFailure.create(opts);
}

function safeAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** One route's outcome in a batch call: done, or refused with the provider's words. */
export type BatchResult<T extends string> = { outcome: T } | { error: { kind: CloudError['kind']; providerCode?: string; message: string } };

function batchResult<T extends string>(result: { outcome: T } | { error: CloudError }): BatchResult<T> {
  if ('outcome' in result) return { outcome: result.outcome };
  const { kind, message, providerCode } = result.error;
  return { error: { kind, message, ...(providerCode ? { providerCode } : {}) } };
}

/** A status poll given a delay waits it out first (an asynchronous change is not done sooner). */
async function pollDelay(ms: number | undefined): Promise<void> {
  if (ms) await heartbeating(new Promise((r) => setTimeout(r, Math.min(ms, 20_000))));
}

/** Waits for a slot of the call's budget before it is made (see cloud/pacer.ts). */
export type PaceCall = (ref: CloudAccountRef & { provider: CloudProvider['name'] }, api: ApiClass, slots: number) => Promise<void>;

/** Waits for one slot of the activity's budget: awaited right before each provider call. */
type TakeSlot = () => Promise<void>;

/**
 * How an activity's calls take their budget slots: a number of slots taken before `fn` runs (the
 * one call of a mutating activity), or 'per call' when `fn` makes several calls and takes a slot
 * right before each (discovery's reads, rules written one call per peer), so that every call
 * waits for its own slot and calls stay spaced by 1/rate.
 */
type Slots = number | 'per call' | ((capabilities: ProviderCapabilities) => number);

/**
 * Counts an activity's provider calls by outcome. A slot is taken right before every call (see
 * Slots), so the calls made are the slots taken; when `fn` failed, the last of them is the call
 * that failed, and all before it answered.
 */
function countCalls(metrics: CloudMetrics | undefined, provider: CloudProvider['name'], api: ApiClass, calls: number, err?: unknown): void {
  if (!metrics || calls <= 0) return;
  const counters = metrics.calls[provider][api];
  const ok = err === undefined ? calls : calls - 1;
  if (ok > 0) counters.ok.inc(ok);
  if (err !== undefined) (err instanceof CloudError && err.kind === 'throttled' ? counters.throttled : counters.error).inc();
}

export function createCloudActivities(providerFor: ProviderFor, pace?: PaceCall, metrics?: CloudMetrics) {
  const call = async <T>(ref: CloudAccountRef, api: ApiClass, what: string, fn: (provider: CloudProvider, takeSlot: TakeSlot) => Promise<T>, slots: Slots = 1): Promise<T> => {
    let provider: CloudProvider;
    try {
      // A refusal here (an endpoint off the allow-list) is a CloudError like any provider answer:
      // permanent, with its reason, instead of an error Temporal would retry forever.
      ({ provider } = await providerFor(ref));
    } catch (err) {
      return toFailure(err, what);
    }
    const budget = { ...ref, provider: provider.name };
    let calls = 0;
    const takeSlot: TakeSlot = async () => {
      calls++;
      await pace?.(budget, api, 1);
    };
    const upFront = slots === 'per call' ? 0 : typeof slots === 'number' ? slots : slots(provider.capabilities);
    // Heartbeats while waiting for the slot and the answer: a dead worker is noticed in seconds.
    if (upFront > 0) await heartbeating(pace?.(budget, api, upFront) ?? Promise.resolve());
    calls += upFront;
    try {
      const result = await heartbeating(fn(provider, takeSlot));
      countCalls(metrics, provider.name, api, calls);
      return result;
    } catch (err) {
      countCalls(metrics, provider.name, api, calls, err);
      return toFailure(err, what);
    }
  };
  return {
    /**
     * Discovery makes several read calls on the describe budget: Alibaba up to four (DescribeInstances
     * by public IP and by EIP, DescribeVpcs, DescribeRouteTableList), EC2 three, more when lists
     * page. Each takes its own slot right before it is made, so no describe API is called faster
     * than the budget allows.
     */
    cloudDiscover: (req: CloudAccountRef & { publicIp: string }): Promise<DiscoveredGateway> =>
      call(req, 'describe', `discovery of ${req.publicIp}`, (provider, takeSlot) => provider.discover(req.publicIp, { beforeCall: takeSlot }), 'per call'),
    cloudCreateRoute: (req: CloudAccountRef & { route: RouteSpec; clientToken: string }): Promise<'created' | 'exists'> =>
      call(req, 'routeWrite', `route ${req.route.destinationCidr} in ${req.route.routeTableId}`, (provider) => provider.createRoute(req.route, req.clientToken)),
    /**
     * Re-points a route the link owns at route.instanceId in place (EC2 ReplaceRoute: no gap while
     * the gateway moves to another instance); 'absent' when someone removed it meanwhile.
     */
    cloudReplaceRoute: (req: CloudAccountRef & { route: RouteSpec }): Promise<'replaced' | 'absent'> =>
      call(req, 'routeWrite', `re-point ${req.route.destinationCidr} in ${req.route.routeTableId}`, async (provider) => {
        if (!provider.replaceRoute) throw new CloudError('invalid', `${provider.name} cannot re-point a route in place`);
        try {
          await provider.replaceRoute(req.route);
          return 'replaced' as const;
        } catch (err) {
          if (err instanceof CloudError && err.kind === 'not_found') return 'absent' as const;
          throw err;
        }
      }),
    /** With delayMs, waits that long first (an asynchronous change is not done sooner). */
    cloudGetRoute: async (req: CloudAccountRef & { route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>; delayMs?: number }): Promise<RouteState | null> => {
      await pollDelay(req.delayMs);
      return call(req, 'routeRead', `route ${req.route.destinationCidr} in ${req.route.routeTableId}`, async (provider) => (await provider.getRoute(req.route)) ?? null);
    },
    /**
     * Several routes of one table in ONE call (Alibaba's CreateRouteEntries). Per-route refusals come
     * back as results, not failures: the route-table workflow answers each link on its own.
     */
    cloudCreateRoutes: (req: CloudAccountRef & { routes: RouteSpec[] }): Promise<{ results: BatchResult<'created' | 'exists'>[]; attempt: number }> =>
      call(req, 'routeWrite', `${req.routes.length} routes in ${req.routes[0]?.routeTableId ?? '?'}`, async (provider) => {
        if (!provider.createRoutes) throw new CloudError('invalid', `${provider.name} has no batch route API`);
        // Batch calls carry no idempotency token: on a retry, a duplicate may be our own earlier
        // success whose answer was lost, so the caller needs to know which attempt this was.
        return { results: (await provider.createRoutes(req.routes)).map(batchResult), attempt: safeAttempt() };
      }),
    cloudDeleteRoutes: (req: CloudAccountRef & { routes: RouteSpec[] }): Promise<BatchResult<'deleted' | 'absent'>[]> =>
      call(req, 'routeWrite', `delete ${req.routes.length} routes in ${req.routes[0]?.routeTableId ?? '?'}`, async (provider) => {
        if (!provider.deleteRoutes) throw new CloudError('invalid', `${provider.name} has no batch route API`);
        return (await provider.deleteRoutes(req.routes)).map(batchResult);
      }),
    /** Every route of a table in one read (to wait for a batch): destination → state. */
    cloudListRoutes: async (req: CloudAccountRef & { routeTableId: string; delayMs?: number }): Promise<Array<RouteState & { destinationCidr: string }>> => {
      await pollDelay(req.delayMs);
      return call(req, 'routeRead', `routes of ${req.routeTableId}`, async (provider) => {
        if (!provider.listRoutes) throw new CloudError('invalid', `${provider.name} cannot list a route table in one call`);
        return provider.listRoutes(req.routeTableId);
      });
    },
    cloudDeleteRoute: (req: CloudAccountRef & { route: RouteSpec }): Promise<'deleted' | 'absent'> =>
      call(req, 'routeWrite', `delete route ${req.route.destinationCidr} in ${req.route.routeTableId}`, (provider) => provider.deleteRoute(req.route)),
    /** As many calls as the provider's capabilities say (EC2: one ModifyInstanceAttribute; Alibaba Cloud: none). */
    cloudPrepareInstance: (req: CloudAccountRef & { instanceId: string }): Promise<void> =>
      call(req, 'instance', `prepare instance ${req.instanceId}`, (provider) => provider.prepareInstance(req.instanceId), (capabilities) => capabilities.prepareInstanceCalls),
    cloudAllowPeer: (req: CloudAccountRef & { rule: PeerRule }): Promise<void> =>
      call(req, 'securityGroup', `allow ${req.rule.peerIp} in ${req.rule.securityGroupId}`, (provider) => provider.allowPeer(req.rule)),
    /** Several peers of one security group: in one call where the provider has the batch form, else one call (and slot) per peer. */
    cloudAllowPeers: (req: CloudAccountRef & { rules: PeerRule[] }): Promise<void> =>
      call(req, 'securityGroup', `allow ${req.rules.length} peer(s) in ${req.rules[0]?.securityGroupId ?? '?'}`, (provider, takeSlot) =>
        peerRuleCalls(req.rules, takeSlot, provider.allowPeers?.bind(provider), (rule) => provider.allowPeer(rule)), 'per call'),
    cloudRevokePeers: (req: CloudAccountRef & { rules: PeerRule[] }): Promise<void> =>
      call(req, 'securityGroup', `revoke ${req.rules.length} peer(s) in ${req.rules[0]?.securityGroupId ?? '?'}`, (provider, takeSlot) =>
        peerRuleCalls(req.rules, takeSlot, provider.revokePeers?.bind(provider), (rule) => provider.revokePeer(rule)), 'per call'),
    cloudRevokePeer: (req: CloudAccountRef & { rule: PeerRule }): Promise<void> =>
      call(req, 'securityGroup', `revoke ${req.rule.peerIp} in ${req.rule.securityGroupId}`, (provider) => provider.revokePeer(req.rule)),
  };
}

/** Several peers' rules: one batch call when the provider has one, else one call per peer; each call after its own slot. */
async function peerRuleCalls(rules: PeerRule[], takeSlot: TakeSlot, batch: ((rules: PeerRule[]) => Promise<void>) | undefined, single: (rule: PeerRule) => Promise<void>): Promise<void> {
  if (batch) {
    await takeSlot();
    await batch(rules);
    return;
  }
  for (const rule of rules) {
    await takeSlot();
    await single(rule);
  }
}
