// Cloud activities. Each one that calls a provider makes exactly one API call and runs on the task
// queue of its rate-limit budget (cloud/budgets.ts); the workflow picks the queue.
import { ApplicationFailure, type ApplicationFailureOptions } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { ApiClass } from '../cloud/queues';
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

/** Waits for a slot of the call's budget before it is made (see cloud/pacer.ts). */
export type PaceCall = (ref: CloudAccountRef & { provider: CloudProvider['name'] }, api: ApiClass, slots: number) => Promise<void>;

export function createCloudActivities(providerFor: ProviderFor, pace?: PaceCall) {
  const call = async <T>(ref: CloudAccountRef, api: ApiClass, what: string, fn: (p: CloudProvider) => Promise<T>, slots: number | ((p: CloudProvider['name']) => number) = 1): Promise<T> => {
    const { provider } = await providerFor(ref);
    const n = typeof slots === 'number' ? slots : slots(provider.name);
    if (n > 0) await pace?.({ ...ref, provider: provider.name }, api, n);
    try {
      return await fn(provider);
    } catch (err) {
      return toFailure(err, what);
    }
  };
  return {
    /** Several read calls (describe budget): instance, VPC, route tables, security groups. */
    /** Discovery makes a few calls (one per describe API, twice for DescribeInstances): two slots. */
    cloudDiscover: (p: CloudAccountRef & { publicIp: string }): Promise<DiscoveredGateway> =>
      call(p, 'describe', `discovery of ${p.publicIp}`, (c) => c.discover(p.publicIp), 2),
    cloudCreateRoute: (p: CloudAccountRef & { route: RouteSpec; clientToken: string }): Promise<'created' | 'exists'> =>
      call(p, 'routeWrite', `route ${p.route.destinationCidr} in ${p.route.routeTableId}`, (c) => c.createRoute(p.route, p.clientToken)),
    /** With delayMs, waits that long first (an asynchronous change is not done sooner). */
    cloudGetRoute: async (p: CloudAccountRef & { route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>; delayMs?: number }): Promise<RouteState | null> => {
      if (p.delayMs) await new Promise((r) => setTimeout(r, Math.min(p.delayMs!, 20_000)));
      return call(p, 'routeRead', `route ${p.route.destinationCidr} in ${p.route.routeTableId}`, async (c) => (await c.getRoute(p.route)) ?? null);
    },
    cloudDeleteRoute: (p: CloudAccountRef & { route: RouteSpec }): Promise<'deleted' | 'absent'> =>
      call(p, 'routeWrite', `delete route ${p.route.destinationCidr} in ${p.route.routeTableId}`, (c) => c.deleteRoute(p.route)),
    cloudPrepareInstance: (p: CloudAccountRef & { instanceId: string }): Promise<void> =>
      // AWS: one ModifyInstanceAttribute; Alibaba Cloud: nothing to call.
      call(p, 'instance', `prepare instance ${p.instanceId}`, (c) => c.prepareInstance(p.instanceId), (name) => (name === 'aws' ? 1 : 0)),
    cloudAllowPeer: (p: CloudAccountRef & { rule: PeerRule }): Promise<void> =>
      call(p, 'securityGroup', `allow ${p.rule.peerIp} in ${p.rule.securityGroupId}`, (c) => c.allowPeer(p.rule)),
    cloudRevokePeer: (p: CloudAccountRef & { rule: PeerRule }): Promise<void> =>
      call(p, 'securityGroup', `revoke ${p.rule.peerIp} in ${p.rule.securityGroupId}`, (c) => c.revokePeer(p.rule)),
  };
}
