// Cloud calls from workflow code: each goes to the task queue of its rate-limit budget, where the
// Temporal server paces it for every controller process together.
import { ActivityFailure, ApplicationFailure, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { budgetQueue, type ApiClass } from '../cloud/queues';
import type { RouteSpec } from '../cloud/types';

export interface CloudRef {
  provider: 'aliyun' | 'aws';
  accountId: string;
  region: string;
}

/** The link task queue is the base of every budget queue name. */
export const baseQueue = (): string => workflowInfo().taskQueue;

export function cloudActs(ref: CloudRef, api: ApiClass, base = baseQueue()) {
  return proxyActivities<Activities>({
    taskQueue: budgetQueue(base, { ...ref, api }),
    startToCloseTimeout: '30s',
    // Unlimited attempts: throttling and busy tables come back with their own nextRetryDelay, and
    // permanent errors are non-retryable, so only transient failures loop here.
    retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
  });
}

/** Provider failure details, when the error came from a cloud call. */
export function cloudFailure(err: unknown): { kind: string; providerCode?: string; message: string; attempt: number } | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || !cause.type?.startsWith('Cloud.')) return undefined;
  const d = (cause.details?.[0] ?? {}) as { kind?: string; providerCode?: string; attempt?: number };
  return { kind: d.kind ?? cause.type.slice(6), ...(d.providerCode ? { providerCode: d.providerCode } : {}), message: cause.message, attempt: d.attempt ?? 1 };
}

export type RouteOutcome = 'created' | 'exists' | 'deleted' | 'absent';

/**
 * Creates one route and waits until the cloud reports it usable. A duplicate is success only when
 * the existing route already points at our instance ('exists': it predates the link and is left in
 * place on delete); otherwise it is someone else's and we fail with the provider's words rather
 * than overwrite it. Alibaba's ClientToken makes our own retries answer 'created'.
 */
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

export async function ensureRoute(ref: CloudRef, route: RouteSpec, clientToken: string, base = baseQueue(), pacing?: PollPacing): Promise<'created' | 'exists'> {
  let outcome: 'created' | 'exists';
  try {
    outcome = await cloudActs(ref, 'routeWrite', base).cloudCreateRoute({ ...ref, route, clientToken });
  } catch (err) {
    const f = cloudFailure(err);
    if (f?.kind !== 'conflict') throw err;
    const existing = await cloudActs(ref, 'routeRead', base).cloudGetRoute({ ...ref, route });
    if (!existing || existing.instanceId !== route.instanceId) {
      throw ApplicationFailure.nonRetryable(
        `route ${route.destinationCidr} in ${route.routeTableId} already exists with next hop ${existing?.nextHop ?? 'unknown'} (not this gateway): ${f.message}`,
        'Cloud.conflict',
        { kind: 'conflict', providerCode: f.providerCode },
      );
    }
    // EC2 has no idempotency token: a duplicate on a retry is our own earlier call whose answer was
    // lost (or whose worker died), so the route is ours. On the first attempt it predates us.
    outcome = f.attempt > 1 && ref.provider === 'aws' ? 'created' : 'exists';
  }
  // Alibaba route entries are asynchronous (Pending → Available); EC2 routes exist once created.
  if (ref.provider === 'aliyun') await waitRoute(ref, route, (s) => s !== undefined && isUsable(s.status), base, pacing);
  return outcome;
}

/** Deletes one route and waits until it is gone. */
export async function removeRoute(ref: CloudRef, route: RouteSpec, base = baseQueue(), pacing?: PollPacing): Promise<'deleted' | 'absent'> {
  const outcome = await cloudActs(ref, 'routeWrite', base).cloudDeleteRoute({ ...ref, route });
  if (outcome === 'deleted' && ref.provider === 'aliyun') await waitRoute(ref, route, (s) => s === undefined, base, pacing);
  return outcome;
}

function isUsable(status: string): boolean {
  // aliyun: Available; aws: active (a blackhole route still "exists" but carries nothing).
  return status === 'Available' || status === 'active' || status === 'blackhole';
}

/** Polls an asynchronous route change (aliyun) on the read budget; AWS answers at once. */
async function waitRoute(ref: CloudRef, route: RouteSpec, done: (s: { status: string } | undefined) => boolean, base: string, pacing?: PollPacing): Promise<void> {
  const started = Date.now(); // workflow time: deterministic
  let delayMs = pacing?.firstPollMs ?? 100;
  for (let i = 0; ; i++) {
    // Paced polls wait inside the activity: one workflow task per poll instead of two (timer, then
    // the activity), which matters when many tables are busy at once.
    const s = await cloudActs(ref, 'routeRead', base).cloudGetRoute({ ...ref, route, ...(pacing ? { delayMs } : {}) });
    if (done(s ?? undefined)) {
      if (pacing) {
        pacing.polls = i + 1;
        pacing.elapsedMs = Date.now() - started;
      }
      return;
    }
    if (i > 600) throw ApplicationFailure.nonRetryable(`route ${route.destinationCidr} in ${route.routeTableId} stuck in ${s?.status ?? 'absent'}`, 'Cloud.unavailable');
    if (!pacing) await sleep(delayMs);
    delayMs = Math.min(Math.round(delayMs * 1.5), 2000);
  }
}
