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
