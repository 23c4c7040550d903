// One workflow per Alibaba Cloud route table serialises every write to it: the API rejects a change
// while another entry of the table is still Pending, so each write is awaited until Available
// before the next starts. Link workflows enqueue operations (signal-with-start, by an activity) and
// get each result back as a signal. Writes to different tables run in parallel.
import { continueAsNew, defineSignal, patched, setHandler } from '@temporalio/workflow';
import { routeOpSignal, type RouteOp } from '../contracts/cloud-objects';
import { nextOp, opFailure, outbox, requests, type OpFailure } from './serialising';
import { ensureRoute, ensureRoutes, MAX_BATCH, removeRoute, removeRoutes, type BatchOutcome, type PollPacing, type RouteOutcome } from './cloud-calls';

export type RouteOpResult = { requestId: string; ok: true; outcome: RouteOutcome } | OpFailure;

export const routeResultSignal = defineSignal<[RouteOpResult]>('routeResult');

export async function routeTableWorkflow(input: { pending?: RouteOp[]; firstPollMs?: number } = {}): Promise<void> {
  const queue: RouteOp[] = [...(input.pending ?? [])];
  // Learned delay before the first status poll: shrink while one poll suffices, otherwise jump to
  // what the change actually took (plus margin), so polls stay near one per change.
  let firstPollMs = input.firstPollMs ?? 300;
  // Runs from before waited for every reply to arrive before the next write, and dropped every
  // repeated request.
  const replies = outbox(routeResultSignal, patched('replies-in-background'));
  const taken = requests<RouteOp, RouteOpResult>(replies, patched('answer-repeated-requests'), queue);
  setHandler(routeOpSignal, (op) => {
    if (taken.take(op)) queue.push(op);
  });
  // Runs from before batching wrote one entry per call.
  const batching = patched('batch-route-ops');
  const learn = (pacing: PollPacing): void => {
    if (pacing.polls === 1) firstPollMs = Math.max(50, Math.round(firstPollMs * 0.9));
    else if (pacing.elapsedMs !== undefined) firstPollMs = Math.min(10_000, Math.round(pacing.elapsedMs * 1.1));
  };
  const reply = (op: RouteOp, result: RouteOpResult): Promise<void> => taken.answer(op, result);
  for (let done = 0; ; done++) {
    if (!(await nextOp(queue, replies, done, () => continueAsNew<typeof routeTableWorkflow>({ pending: queue, firstPollMs })))) return;
    // Everything waiting of the same kind goes in one call: the table takes one change at a time,
    // so a batch costs one write and one wait instead of one of each per route.
    const kind = queue[0]!.op;
    let n = 1;
    while (batching && n < Math.min(queue.length, MAX_BATCH) && queue[n]!.op === kind && !sameDestination(queue.slice(0, n), queue[n]!)) n++;
    const batch = queue.splice(0, n);
    if (batch.length > 1) {
      const pacing: PollPacing = { firstPollMs };
      const results = await runBatch(batch, pacing);
      learn(pacing);
      await Promise.all(batch.map((op, i) => reply(op, results[i]!)));
      continue;
    }
    const op = batch[0]!;
    let result: RouteOpResult;
    try {
      const pacing: PollPacing = { firstPollMs };
      const outcome = op.op === 'create' ? await ensureRoute(op.ref, op.route, op.clientToken, op.baseQueue, pacing) : await removeRoute(op.ref, op.route, op.baseQueue, pacing);
      learn(pacing);
      result = { requestId: op.requestId, ok: true, outcome };
    } catch (err) {
      result = opFailure(op.requestId, err);
    }
    await reply(op, result);
  }
}

/** One destination appears once per call (a create and a delete of it never share one either). */
function sameDestination(batch: RouteOp[], op: RouteOp): boolean {
  return batch.some((b) => b.route.destinationCidr === op.route.destinationCidr);
}

async function runBatch(batch: RouteOp[], pacing: PollPacing): Promise<RouteOpResult[]> {
  const { ref, baseQueue } = batch[0]!;
  const routes = batch.map((o) => o.route);
  try {
    const outcomes: BatchOutcome<RouteOutcome>[] =
      batch[0]!.op === 'create' ? await ensureRoutes(ref, routes, baseQueue, pacing) : await removeRoutes(ref, routes, baseQueue, pacing);
    return batch.map((op, i) => {
      const o = outcomes[i]!;
      return 'outcome' in o ? { requestId: op.requestId, ok: true, outcome: o.outcome } : { requestId: op.requestId, ok: false, ...o.failed };
    });
  } catch (err) {
    // The whole call was refused for good (retryable trouble is retried inside): every op fails.
    return batch.map((op) => opFailure(op.requestId, err));
  }
}
