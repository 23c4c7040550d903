// Cloud calls from workflow code: each goes to the task queue of its rate-limit budget, where the
// Temporal server paces it for every controller process together.
import { ActivityFailure, ApplicationFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { capabilitiesOf } from '../cloud/capabilities';
import { budgetQueue, type ApiClass } from '../cloud/queues';
import type { CloudRef, RouteSpec } from '../cloud/types';

/** The link task queue is the base of every budget queue name. */
export const baseQueue = (): string => workflowInfo().taskQueue;

export function cloudActs(ref: CloudRef, api: ApiClass, base = baseQueue()) {
  return proxyActivities<Activities>({
    taskQueue: budgetQueue(base, { ...ref, api }),
    startToCloseTimeout: '30s',
    // Heartbeats while waiting for the budget slot and the answer (activities/heartbeat.ts).
    heartbeatTimeout: '5s',
    // Unlimited attempts: throttling and busy tables come back with their own nextRetryDelay, and
    // permanent errors are non-retryable, so only transient failures loop here.
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  });
}

/** Provider failure details, when the error came from a cloud call. */
export function cloudFailure(err: unknown): { kind: string; providerCode?: string; message: string; attempt: number } | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || !cause.type?.startsWith('Cloud.')) return undefined;
  const details = (cause.details?.[0] ?? {}) as { kind?: string; providerCode?: string; attempt?: number };
  return { kind: details.kind ?? cause.type.slice(6), ...(details.providerCode ? { providerCode: details.providerCode } : {}), message: cause.message, attempt: details.attempt ?? 1 };
}

export type RouteOutcome = 'created' | 'exists' | 'deleted' | 'absent';

/**
 * How long to wait before the first status poll of an asynchronous change. Each poll spends the
 * read budget, so the route-table workflow learns the table's usual delay and polls once, not
 * several times, per change.
 */
export interface PollPacing {
  firstPollMs: number;
  /** Filled in by the call: polls made and time until done. */
  polls?: number;
  elapsedMs?: number;
}

/**
 * Creates one route and waits until the cloud reports it usable. A duplicate is success only when
 * the existing route already points at our instance ('exists': it predates the link and is left in
 * place on delete); otherwise it is someone else's and we fail with the provider's words rather
 * than overwrite it. With an idempotency token (Alibaba's ClientToken) our own retries answer 'created'.
 */
export async function ensureRoute(ref: CloudRef, route: RouteSpec, clientToken: string, base = baseQueue(), pacing?: PollPacing): Promise<'created' | 'exists'> {
  const capabilities = capabilitiesOf(ref.provider);
  let outcome: 'created' | 'exists';
  try {
    outcome = await cloudActs(ref, 'routeWrite', base).cloudCreateRoute({ ...ref, route, clientToken });
  } catch (err) {
    const failure = cloudFailure(err);
    if (failure?.kind !== 'conflict') throw err;
    const dup = await checkDuplicate(ref, route, base, failure.message);
    if (!dup.ours) throw ApplicationFailure.nonRetryable(dup.message, 'Cloud.conflict', { kind: 'conflict', providerCode: failure.providerCode });
    // Without an idempotency token (EC2) a duplicate on a retry is our own earlier call whose answer
    // was lost (or whose worker died), so the route is ours. On the first attempt it predates us.
    outcome = failure.attempt > 1 && !capabilities.routeIdempotencyToken ? 'created' : 'exists';
  }
  // Asynchronous entries (Alibaba: Pending → Available) are waited for; EC2 routes exist once created.
  if (capabilities.asyncRouteEntries) await waitRoute(ref, route, (state) => state !== undefined && isUsable(ref, state.status), base, pacing);
  return outcome;
}

/** Deletes one route and waits until it is gone. */
export async function removeRoute(ref: CloudRef, route: RouteSpec, base = baseQueue(), pacing?: PollPacing): Promise<'deleted' | 'absent'> {
  const outcome = await cloudActs(ref, 'routeWrite', base).cloudDeleteRoute({ ...ref, route });
  if (outcome === 'deleted' && capabilitiesOf(ref.provider).asyncRouteEntries) await waitRoute(ref, route, (state) => state === undefined, base, pacing);
  return outcome;
}

/** A route's result in a batch: its outcome, or why the cloud refused it. */
export type BatchOutcome<T extends RouteOutcome> = { outcome: T } | { failed: { message: string; kind: string; providerCode?: string } };

/**
 * Creates several routes of ONE table in one call and waits until every created one is usable.
 * Per-route refusals are sorted out like ensureRoute's: a duplicate that already points at our
 * instance is 'exists', anything else fails that route alone.
 */
export async function ensureRoutes(ref: CloudRef, routes: RouteSpec[], base: string, pacing?: PollPacing): Promise<BatchOutcome<'created' | 'exists'>[]> {
  const { results, attempt } = await cloudActs(ref, 'routeWrite', base).cloudCreateRoutes({ ...ref, routes });
  const out: BatchOutcome<'created' | 'exists'>[] = [];
  for (const [i, result] of results.entries()) {
    const route = routes[i]!;
    if ('outcome' in result) {
      out.push({ outcome: result.outcome });
      continue;
    }
    const { kind, message, providerCode } = result.error;
    const code = providerCode ? { providerCode } : {};
    if (kind !== 'conflict') {
      out.push({ failed: { message: `route ${route.destinationCidr} in ${route.routeTableId}: ${message}`, kind, ...code } });
      continue;
    }
    const dup = await checkDuplicate(ref, route, base, message);
    // Batch calls carry no idempotency token: a duplicate on a retry is our own lost success.
    out.push(dup.ours ? { outcome: attempt > 1 ? 'created' : 'exists' } : { failed: { message: dup.message, kind: 'conflict', ...code } });
  }
  const waitFor = routes.filter((_, i) => 'outcome' in out[i]!);
  await waitTable(ref, routes[0]!.routeTableId, (byDest) => waitFor.every((route) => isUsable(ref, byDest.get(route.destinationCidr)?.status ?? '')), base, pacing);
  return out;
}

/** Deletes several routes of ONE table in one call and waits until they are gone. */
export async function removeRoutes(ref: CloudRef, routes: RouteSpec[], base: string, pacing?: PollPacing): Promise<BatchOutcome<'deleted' | 'absent'>[]> {
  const results = await cloudActs(ref, 'routeWrite', base).cloudDeleteRoutes({ ...ref, routes });
  const out: BatchOutcome<'deleted' | 'absent'>[] = results.map((result, i) => {
    if ('outcome' in result) return { outcome: result.outcome };
    const { kind, message, providerCode } = result.error;
    return { failed: { message: `delete route ${routes[i]!.destinationCidr} in ${routes[i]!.routeTableId}: ${message}`, kind, ...(providerCode ? { providerCode } : {}) } };
  });
  const gone = routes.filter((_, i) => {
    const outcome = out[i]!;
    return 'outcome' in outcome && outcome.outcome === 'deleted';
  });
  if (gone.length) await waitTable(ref, routes[0]!.routeTableId, (byDest) => gone.every((route) => byDest.get(route.destinationCidr)?.instanceId !== route.instanceId), base, pacing);
  return out;
}

/** Polls a whole table in one read per poll until `done`. */
function waitTable(ref: CloudRef, routeTableId: string, done: (byDest: Map<string, { status: string; instanceId?: string }>) => boolean, base: string, pacing?: PollPacing): Promise<void> {
  return pollUntil(
    async (delayMs) => new Map((await cloudActs(ref, 'routeRead', base).cloudListRoutes({ ...ref, routeTableId, ...(delayMs !== undefined ? { delayMs } : {}) })).map((state) => [state.destinationCidr, state])),
    done,
    () => `routes in ${routeTableId} did not settle`,
    pacing,
  );
}

/** A status the provider reports for a route that exists and is usable (see ProviderCapabilities). */
function isUsable(ref: CloudRef, status: string): boolean {
  return capabilitiesOf(ref.provider).usableRouteStates.includes(status);
}

/** Polls an asynchronous route change (asyncRouteEntries) on the read budget. */
function waitRoute(ref: CloudRef, route: RouteSpec, done: (state: { status: string } | undefined) => boolean, base: string, pacing?: PollPacing): Promise<void> {
  return pollUntil(
    async (delayMs) => (await cloudActs(ref, 'routeRead', base).cloudGetRoute({ ...ref, route, ...(delayMs !== undefined ? { delayMs } : {}) })) ?? undefined,
    done,
    (state) => `route ${route.destinationCidr} in ${route.routeTableId} stuck in ${state?.status ?? 'absent'}`,
    pacing,
  );
}

/**
 * Reads until `done`, backing off from pacing.firstPollMs. Paced polls wait inside the read
 * activity (it gets the delay): one workflow task per poll instead of two (timer, then the
 * activity), which matters when many tables are busy at once.
 */
async function pollUntil<T>(read: (delayMs: number | undefined) => Promise<T>, done: (value: T) => boolean, stuck: (value: T) => string, pacing?: PollPacing): Promise<void> {
  const started = Date.now(); // workflow time: deterministic
  let delayMs = pacing?.firstPollMs ?? 100;
  for (let i = 0; ; i++) {
    const value = await read(pacing ? delayMs : undefined);
    if (done(value)) {
      if (pacing) {
        pacing.polls = i + 1;
        pacing.elapsedMs = Date.now() - started;
      }
      return;
    }
    if (i > 600) throw ApplicationFailure.nonRetryable(stuck(value), 'Cloud.unavailable');
    if (!pacing) await sleep(delayMs);
    delayMs = Math.min(Math.round(delayMs * 1.5), 2000);
  }
}

/** After a duplicate: the existing route is ours only when it already points at our instance. */
async function checkDuplicate(ref: CloudRef, route: RouteSpec, base: string, providerMessage: string): Promise<{ ours: true } | { ours: false; message: string }> {
  const existing = await cloudActs(ref, 'routeRead', base).cloudGetRoute({ ...ref, route });
  if (existing && existing.instanceId === route.instanceId) return { ours: true };
  return { ours: false, message: `route ${route.destinationCidr} in ${route.routeTableId} already exists with next hop ${existing?.nextHop ?? 'unknown'} (not this gateway): ${providerMessage}` };
}
