// One workflow per route table of a provider with serialised route writes (Alibaba Cloud: the API
// rejects a change while another entry of the table is still Pending), run by the shared skeleton in
// ./serialising.ts: each write is awaited until usable (or gone) before the next starts, and what
// queued meanwhile goes out as one batch call. Writes to different tables run in parallel.
import { defineSignal } from '@temporalio/workflow';
import { capabilitiesOf } from '../cloud/capabilities';
import { routeOpSignal, type RouteOp } from '../contracts/cloud-objects';
import { opFailure, serialiseCloudObject, type OpFailure } from './serialising';
import { ensureRoute, ensureRoutes, removeRoute, removeRoutes, type BatchOutcome, type PollPacing, type RouteOutcome } from './cloud-calls';

export type RouteOpResult = { requestId: string; ok: true; outcome: RouteOutcome } | OpFailure;

export const routeResultSignal = defineSignal<[RouteOpResult], 'routeResult'>('routeResult');

export async function routeTableWorkflow(input: { pending?: RouteOp[]; firstPollMs?: number } = {}): Promise<void> {
  const polls = pollLearner(input.firstPollMs ?? 300);
  await serialiseCloudObject<RouteOp, RouteOpResult>(
    {
      opSignal: routeOpSignal,
      resultSignal: routeResultSignal,
      batchSize: routeBatchSize,
      write: (batch) => (batch.length > 1 ? writeBatch(batch, polls) : writeOne(batch[0]!, polls)),
      carry: (pending): Parameters<typeof routeTableWorkflow>[0] => ({ pending, firstPollMs: polls.firstPollMs }),
    },
    input.pending,
  );
}

/**
 * The learned delay before the first status poll: shrinks while one poll suffices, otherwise
 * jumps to what the change actually took (plus margin), so polls stay near one per change.
 */
function pollLearner(firstPollMs: number) {
  return {
    firstPollMs,
    learn(pacing: PollPacing): void {
      if (pacing.polls === 1) this.firstPollMs = Math.max(50, Math.round(this.firstPollMs * 0.9));
      else if (pacing.elapsedMs !== undefined) this.firstPollMs = Math.min(10_000, Math.round(pacing.elapsedMs * 1.1));
    },
  };
}

/**
 * Everything waiting of the same kind goes in one call, up to the provider's batch size: the table
 * takes one change at a time, so a batch costs one write and one wait instead of one of each per
 * route. One destination appears once per call (a create and a delete of it never share one either).
 */
function routeBatchSize(queue: readonly RouteOp[]): number {
  const head = queue[0]!;
  const most = Math.min(queue.length, capabilitiesOf(head.ref.provider).routeBatchSize);
  let size = 1;
  while (size < most && queue[size]!.op === head.op && !sameDestination(queue.slice(0, size), queue[size]!)) size++;
  return size;
}

function sameDestination(batch: RouteOp[], op: RouteOp): boolean {
  return batch.some((queued) => queued.route.destinationCidr === op.route.destinationCidr);
}

/** One route on its own: the single-entry call (with its idempotency token, where the provider has one). */
async function writeOne(op: RouteOp, polls: ReturnType<typeof pollLearner>): Promise<RouteOpResult[]> {
  try {
    const pacing: PollPacing = { firstPollMs: polls.firstPollMs };
    const outcome = op.op === 'create' ? await ensureRoute(op.ref, op.route, op.clientToken, op.baseQueue, pacing) : await removeRoute(op.ref, op.route, op.baseQueue, pacing);
    polls.learn(pacing);
    return [{ requestId: op.requestId, ok: true, outcome }];
  } catch (err) {
    return [opFailure(op.requestId, err)];
  }
}

async function writeBatch(batch: RouteOp[], polls: ReturnType<typeof pollLearner>): Promise<RouteOpResult[]> {
  const { ref, baseQueue } = batch[0]!;
  const routes = batch.map((op) => op.route);
  const pacing: PollPacing = { firstPollMs: polls.firstPollMs };
  try {
    const outcomes: BatchOutcome<RouteOutcome>[] =
      batch[0]!.op === 'create' ? await ensureRoutes(ref, routes, baseQueue, pacing) : await removeRoutes(ref, routes, baseQueue, pacing);
    return batch.map((op, i) => {
      const outcome = outcomes[i]!;
      return 'outcome' in outcome ? { requestId: op.requestId, ok: true, outcome: outcome.outcome } : { requestId: op.requestId, ok: false, ...outcome.failed };
    });
  } catch (err) {
    // The whole call was refused for good (retryable trouble is retried inside): every op fails.
    return batch.map((op) => opFailure(op.requestId, err));
  } finally {
    polls.learn(pacing);
  }
}
