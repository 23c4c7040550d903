// What the serialising workflows (one per route table, one per security group) share: the run
// loop's head (idle exit, continue-as-new), the requests they took by id, and result signals sent
// without waiting for each delivery, so the next cloud call is scheduled in the same workflow task
// as the replies to the last one instead of a task later (a round trip that adds up when a busy
// table works through many batches).
import { condition, getExternalWorkflowHandle, workflowInfo, type SignalDefinition } from '@temporalio/workflow';
import { cloudFailure } from './cloud-calls';

const IDLE = '2m';
const OPS_PER_RUN = 500;

/** A request the cloud refused (or that failed for good), as its requester is told. */
export type OpFailure = { requestId: string; ok: false; message: string; kind: string; providerCode?: string };

export function opFailure(requestId: string, err: unknown): OpFailure {
  const f = cloudFailure(err);
  return { requestId, ok: false, message: f?.message ?? String(err), kind: f?.kind ?? 'unknown', ...(f?.providerCode ? { providerCode: f.providerCode } : {}) };
}

/**
 * Waits for the next op of a serialising workflow; every reply still under way is delivered
 * before the run ends. False after IDLE without work (a new op starts a new run); after
 * OPS_PER_RUN ops, or when Temporal suggests it, the run continues as new through `carryOn`.
 */
export async function nextOp(queue: readonly unknown[], replies: Pick<Outbox<unknown>, 'drain'>, done: number, carryOn: () => Promise<never>): Promise<boolean> {
  if (!(await condition(() => queue.length > 0, IDLE))) {
    await replies.drain();
    // Idle, unless an op came in while the last replies went out.
    if (queue.length === 0) return false;
  }
  if (done >= OPS_PER_RUN || workflowInfo().continueAsNewSuggested) {
    await replies.drain();
    await carryOn();
  }
  return true;
}

export interface Outbox<R> {
  /** Sends a result; with `background` off (histories from before), waits for the delivery. */
  send(replyTo: string, result: R): Promise<void>;
  /** Waits for every delivery still under way: call before the run ends (continue-as-new, return). */
  drain(): Promise<void>;
}

export function outbox<R>(signal: SignalDefinition<[R]>, background: boolean): Outbox<R> {
  const pending = new Set<Promise<void>>();
  return {
    send(replyTo, result) {
      // The requester may be gone (its link deleted meanwhile); that must not stop the sender.
      const delivery = getExternalWorkflowHandle(replyTo)
        .signal(signal, result)
        .catch(() => undefined);
      if (!background) return delivery;
      pending.add(delivery);
      void delivery.then(() => pending.delete(delivery));
      return Promise.resolve();
    },
    async drain() {
      await Promise.all([...pending]);
    },
  };
}

/**
 * The requests a serialising workflow has taken, by request id. A repeat of one still queued or
 * in flight is dropped (its answer is coming). With `answerRepeats` (histories from before dropped
 * every repeat), a repeat of one answered successfully gets that answer again: the requester asks
 * anew (a link provisioning again after a failure) and would otherwise wait forever; a request
 * that failed may be asked again, and runs again.
 */
export function requests<Op extends { requestId: string; replyTo: string }, R extends { ok: boolean }>(box: Outbox<R>, answerRepeats: boolean, queued: Op[]) {
  const seen = new Set(queued.map((o) => o.requestId));
  const answered = new Map<string, R>();
  return {
    /** Whether `op` is new (to be queued); a repeat is answered here when it can be. */
    take(op: Op): boolean {
      if (!seen.has(op.requestId)) {
        seen.add(op.requestId);
        return true;
      }
      const earlier = answerRepeats ? answered.get(op.requestId) : undefined;
      if (earlier) void box.send(op.replyTo, earlier);
      return false;
    },
    /** Sends the answer to `op` (see Outbox.send) and remembers it. */
    answer(op: Op, result: R): Promise<void> {
      if (answerRepeats) {
        if (result.ok) answered.set(op.requestId, result);
        else seen.delete(op.requestId);
      }
      return box.send(op.replyTo, result);
    },
  };
}
