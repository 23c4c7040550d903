// Result signals that a serialising workflow sends without waiting for each delivery: the next
// cloud call is scheduled in the same workflow task as the replies to the last one, instead of a
// task later (a round trip that adds up when a busy table works through many batches).
import { getExternalWorkflowHandle, type SignalDefinition } from '@temporalio/workflow';

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
