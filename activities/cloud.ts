// Cloud activities. Each one that calls a provider makes exactly one API call and runs on the task
// queue of its rate-limit budget (cloud/budgets.ts); the workflow picks the queue.
import { ApplicationFailure, type ApplicationFailureOptions } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { ApiClass } from '../cloud/queues';
import { heartbeating } from './heartbeat';
import { CloudError, type CloudProvider, type CloudTarget, type DiscoveredGateway, type PeerRule, type RouteSpec, type RouteState } from '../cloud/types';

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

function batchResult<T extends string>(r: { outcome: T } | { error: CloudError }): BatchResult<T> {
  if ('outcome' in r) return { outcome: r.outcome };
  const e = r.error;
  return { error: { kind: e.kind, message: e.message, ...(e.providerCode ? { providerCode: e.providerCode } : {}) } };
}

/** A status poll given a delay waits it out first (an asynchronous change is not done sooner). */
async function pollDelay(ms: number | undefined): Promise<void> {
  if (ms) await heartbeating(new Promise((r) => setTimeout(r, Math.min(ms, 20_000))));
}

/** Waits for a slot of the call's budget before it is made (see cloud/pacer.ts). */
export type PaceCall = (ref: CloudAccountRef & { provider: CloudProvider['name'] }, api: ApiClass, slots: number) => Promise<void>;

export function createCloudActivities(providerFor: ProviderFor, pace?: PaceCall) {
  const call = async <T>(ref: CloudAccountRef, api: ApiClass, what: string, fn: (p: CloudProvider) => Promise<T>, slots: number | ((p: CloudProvider['name']) => number) = 1): Promise<T> => {
    let provider: CloudProvider;
    try {
      // A refusal here (an endpoint off the allow-list) is a CloudError like any provider answer:
      // permanent, with its reason, instead of an error Temporal would retry forever.
      ({ provider } = await providerFor(ref));
    } catch (err) {
      return toFailure(err, what);
    }
    const n = typeof slots === 'number' ? slots : slots(provider.name);
    // Heartbeats while waiting for the slot and the answer: a dead worker is noticed in seconds.
    if (n > 0) await heartbeating(pace?.({ ...ref, provider: provider.name }, api, n) ?? Promise.resolve());
    try {
      return await heartbeating(fn(provider));
    } catch (err) {
      return toFailure(err, what);
    }
  };
  return {
    /**
     * Discovery makes several read calls on the describe budget: Alibaba up to four (DescribeInstances
     * by public IP and by EIP, DescribeVpcs, DescribeRouteTableList), EC2 three. It reserves a slot
     * for each, so no describe API is called faster than the budget allows.
     */
    cloudDiscover: (p: CloudAccountRef & { publicIp: string }): Promise<DiscoveredGateway> =>
      call(p, 'describe', `discovery of ${p.publicIp}`, (c) => c.discover(p.publicIp), (name) => (name === 'aliyun' ? 4 : 3)),
    cloudCreateRoute: (p: CloudAccountRef & { route: RouteSpec; clientToken: string }): Promise<'created' | 'exists'> =>
      call(p, 'routeWrite', `route ${p.route.destinationCidr} in ${p.route.routeTableId}`, (c) => c.createRoute(p.route, p.clientToken)),
    /**
     * Re-points a route the link owns at route.instanceId in place (EC2 ReplaceRoute: no gap while
     * the gateway moves to another instance); 'absent' when someone removed it meanwhile.
     */
    cloudReplaceRoute: (p: CloudAccountRef & { route: RouteSpec }): Promise<'replaced' | 'absent'> =>
      call(p, 'routeWrite', `re-point ${p.route.destinationCidr} in ${p.route.routeTableId}`, async (c) => {
        if (!c.replaceRoute) throw new CloudError('invalid', `${c.name} cannot re-point a route in place`);
        try {
          await c.replaceRoute(p.route);
          return 'replaced' as const;
        } catch (err) {
          if (err instanceof CloudError && err.kind === 'not_found') return 'absent' as const;
          throw err;
        }
      }),
    /** With delayMs, waits that long first (an asynchronous change is not done sooner). */
    cloudGetRoute: async (p: CloudAccountRef & { route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>; delayMs?: number }): Promise<RouteState | null> => {
      await pollDelay(p.delayMs);
      return call(p, 'routeRead', `route ${p.route.destinationCidr} in ${p.route.routeTableId}`, async (c) => (await c.getRoute(p.route)) ?? null);
    },
    /**
     * Several routes of one table in ONE call (Alibaba's CreateRouteEntries). Per-route refusals come
     * back as results, not failures: the route-table workflow answers each link on its own.
     */
    cloudCreateRoutes: (p: CloudAccountRef & { routes: RouteSpec[] }): Promise<{ results: BatchResult<'created' | 'exists'>[]; attempt: number }> =>
      call(p, 'routeWrite', `${p.routes.length} routes in ${p.routes[0]?.routeTableId ?? '?'}`, async (c) => {
        if (!c.createRoutes) throw new CloudError('invalid', `${c.name} has no batch route API`);
        // CreateRouteEntries has no ClientToken: on a retry, a duplicate may be our own earlier
        // success whose answer was lost, so the caller needs to know which attempt this was.
        return { results: (await c.createRoutes(p.routes)).map(batchResult), attempt: safeAttempt() };
      }),
    cloudDeleteRoutes: (p: CloudAccountRef & { routes: RouteSpec[] }): Promise<BatchResult<'deleted' | 'absent'>[]> =>
      call(p, 'routeWrite', `delete ${p.routes.length} routes in ${p.routes[0]?.routeTableId ?? '?'}`, async (c) => {
        if (!c.deleteRoutes) throw new CloudError('invalid', `${c.name} has no batch route API`);
        return (await c.deleteRoutes(p.routes)).map(batchResult);
      }),
    /** Every route of a table in one read (to wait for a batch): destination → state. */
    cloudListRoutes: async (p: CloudAccountRef & { routeTableId: string; delayMs?: number }): Promise<Array<RouteState & { destinationCidr: string }>> => {
      await pollDelay(p.delayMs);
      return call(p, 'routeRead', `routes of ${p.routeTableId}`, async (c) => {
        if (!c.listRoutes) throw new CloudError('invalid', `${c.name} cannot list a route table in one call`);
        return c.listRoutes(p.routeTableId);
      });
    },
    cloudDeleteRoute: (p: CloudAccountRef & { route: RouteSpec }): Promise<'deleted' | 'absent'> =>
      call(p, 'routeWrite', `delete route ${p.route.destinationCidr} in ${p.route.routeTableId}`, (c) => c.deleteRoute(p.route)),
    cloudPrepareInstance: (p: CloudAccountRef & { instanceId: string }): Promise<void> =>
      // AWS: one ModifyInstanceAttribute; Alibaba Cloud: nothing to call.
      call(p, 'instance', `prepare instance ${p.instanceId}`, (c) => c.prepareInstance(p.instanceId), (name) => (name === 'aws' ? 1 : 0)),
    cloudAllowPeer: (p: CloudAccountRef & { rule: PeerRule }): Promise<void> =>
      call(p, 'securityGroup', `allow ${p.rule.peerIp} in ${p.rule.securityGroupId}`, (c) => c.allowPeer(p.rule)),
    /** Several peers of one security group in one call (the security-group workflow batches). */
    cloudAllowPeers: (p: CloudAccountRef & { rules: PeerRule[] }): Promise<void> =>
      call(p, 'securityGroup', `allow ${p.rules.length} peer(s) in ${p.rules[0]?.securityGroupId ?? '?'}`, async (c) => {
        if (c.allowPeers) await c.allowPeers(p.rules);
        else for (const r of p.rules) await c.allowPeer(r);
      }, (name) => (name === 'aliyun' ? 1 : p.rules.length)),
    cloudRevokePeers: (p: CloudAccountRef & { rules: PeerRule[] }): Promise<void> =>
      call(p, 'securityGroup', `revoke ${p.rules.length} peer(s) in ${p.rules[0]?.securityGroupId ?? '?'}`, async (c) => {
        if (c.revokePeers) await c.revokePeers(p.rules);
        else for (const r of p.rules) await c.revokePeer(r);
      }, (name) => (name === 'aliyun' ? 1 : p.rules.length)),
    cloudRevokePeer: (p: CloudAccountRef & { rule: PeerRule }): Promise<void> =>
      call(p, 'securityGroup', `revoke ${p.rule.peerIp} in ${p.rule.securityGroupId}`, (c) => c.revokePeer(p.rule)),
  };
}
