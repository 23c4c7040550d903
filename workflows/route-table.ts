// One workflow per Alibaba Cloud route table serialises every write to it: the API rejects a change
// while another entry of the table is still Pending, so each write is awaited until Available
// before the next starts. Link workflows enqueue operations (signal-with-start, by an activity) and
// get each result back as a signal. Writes to different tables run in parallel.
import { condition, continueAsNew, defineSignal, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RouteSpec } from '../cloud/types';
import { cloudFailure, ensureRoute, removeRoute, type CloudRef, type PollPacing, type RouteOutcome } from './cloud-calls';

export interface RouteOp {
  /** Unique per intent; a repeated op with the same id is answered once. */
  requestId: string;
  op: 'create' | 'delete';
  ref: CloudRef;
  route: RouteSpec;
  clientToken: string;
  /** Workflow id to signal the result to. */
  replyTo: string;
  /** Task queue the budget queues derive from (the link workflow's). */
  baseQueue: string;
}

export type RouteOpResult =
  | { requestId: string; ok: true; outcome: RouteOutcome }
  | { requestId: string; ok: false; message: string; kind: string; providerCode?: string };

export const routeOpSignal = defineSignal<[RouteOp]>('routeOp');
export const routeResultSignal = defineSignal<[RouteOpResult]>('routeResult');

export const routeTableWorkflowId = (ref: CloudRef, routeTableId: string): string => `rtb-${ref.provider}-${ref.accountId}-${ref.region}-${routeTableId}`;

const IDLE = '2m';
const OPS_PER_RUN = 500;

export async function routeTableWorkflow(input: { pending?: RouteOp[]; firstPollMs?: number } = {}): Promise<void> {
  const queue: RouteOp[] = [...(input.pending ?? [])];
  // Learned delay before the first status poll: shrink while one poll suffices, otherwise jump to
  // what the change actually took (plus margin), so polls stay near one per change.
  let firstPollMs = input.firstPollMs ?? 300;
  const seen = new Set(queue.map((o) => o.requestId));
  setHandler(routeOpSignal, (op) => {
    if (seen.has(op.requestId)) return;
    seen.add(op.requestId);
    queue.push(op);
  });
  for (let done = 0; ; done++) {
    if (!(await condition(() => queue.length > 0, IDLE))) return; // idle: a new op starts a new run
    if (done >= OPS_PER_RUN || workflowInfo().continueAsNewSuggested) await continueAsNew<typeof routeTableWorkflow>({ pending: queue, firstPollMs });
    const op = queue.shift()!;
    let result: RouteOpResult;
    try {
      const pacing: PollPacing = { firstPollMs };
      const outcome = op.op === 'create' ? await ensureRoute(op.ref, op.route, op.clientToken, op.baseQueue, pacing) : await removeRoute(op.ref, op.route, op.baseQueue, pacing);
      if (pacing.polls === 1) firstPollMs = Math.max(50, Math.round(firstPollMs * 0.9));
      else if (pacing.elapsedMs !== undefined) firstPollMs = Math.min(10_000, Math.round(pacing.elapsedMs * 1.1));
      result = { requestId: op.requestId, ok: true, outcome };
    } catch (err) {
      const f = cloudFailure(err);
      result = { requestId: op.requestId, ok: false, message: f?.message ?? String(err), kind: f?.kind ?? 'unknown', ...(f?.providerCode ? { providerCode: f.providerCode } : {}) };
    }
    // The requester may be gone (its link deleted meanwhile); that must not stop the table.
    await getExternalWorkflowHandle(op.replyTo)
      .signal(routeResultSignal, result)
      .catch(() => undefined);
  }
}
