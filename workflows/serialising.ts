// One workflow per cloud object whose writes must not run side by side (a route table, a security
// group): link workflows hand it requests (signal-with-start, by an activity), it writes them in
// batches, one call at a time, and signals each result back. This is the skeleton both kinds share;
// a small policy per kind says how many queued requests go in one call and how they are written.
// A batch's answers go out together through one local activity, without waiting for it, so the
// next cloud call is scheduled in the same workflow task as the replies to the last one (a round
// trip that adds up when a busy table works through many batches).
import { condition, continueAsNew, setHandler, sleep, workflowInfo, type SignalDefinition } from '@temporalio/workflow';
import type { Reply, ResultSignalName } from '../contracts/cloud-objects';
import { store } from './bookkeeping';
import { cloudFailure } from './cloud-calls';

const IDLE = '2m';
const OPS_PER_RUN = 500;

/** A request the cloud refused (or that failed for good), as its requester is told. */
export type OpFailure = { requestId: string; ok: false; message: string; kind: string; providerCode?: string };

export function opFailure(requestId: string, err: unknown): OpFailure {
  const failure = cloudFailure(err);
  return { requestId, ok: false, message: failure?.message ?? String(err), kind: failure?.kind ?? 'unknown', ...(failure?.providerCode ? { providerCode: failure.providerCode } : {}) };
}

/** What every request to such a workflow carries: an id per intent and whom to answer. */
export interface ObjectOp {
  requestId: string;
  replyTo: string;
}

/** What makes one kind of serialised cloud object. */
export interface ObjectPolicy<Op extends ObjectOp, Result extends { requestId: string; ok: boolean }> {
  /** How requests arrive, and the signal their results go back on. */
  opSignal: SignalDefinition<[Op]>;
  resultSignal: SignalDefinition<[Result], ResultSignalName>;
  /** How many requests at the head of the queue (at least one) go out in the next call. */
  batchSize(queue: readonly Op[]): number;
  /** Writes one batch and waits until it is done: one result per request, in order, failures included. */
  write(batch: Op[]): Promise<Result[]>;
  /** The input of the next run when this one continues as new: the queue and what the policy learned. */
  carry(pending: Op[]): unknown;
}

/**
 * The run loop of a serialised cloud object: takes requests once each, writes them a batch at a
 * time, answers each, ends when idle (a new request starts a new run) and continues as new when
 * the history grows.
 */
export async function serialiseCloudObject<Op extends ObjectOp, Result extends { requestId: string; ok: boolean }>(policy: ObjectPolicy<Op, Result>, pending: readonly Op[] = []): Promise<void> {
  const queue: Op[] = [...pending];
  const replies = outbox(policy.resultSignal);
  const taken = requests<Op, Result>(replies, queue);
  setHandler(policy.opSignal, (op) => {
    if (taken.take(op)) queue.push(op);
  });
  for (let done = 0; ; done++) {
    if (!(await nextOp(queue, replies, done, () => continueAsNew(policy.carry(queue))))) return;
    const batch = queue.splice(0, Math.max(1, policy.batchSize(queue)));
    const results = await policy.write(batch);
    await Promise.all(batch.map((op, i) => taken.answer(op, results[i]!)));
  }
}

/**
 * Waits for the next op; every reply still under way is delivered before the run ends. False after
 * IDLE without work (a new op starts a new run); after OPS_PER_RUN ops, or when Temporal suggests
 * it, the run continues as new through `carryOn`.
 */
async function nextOp(queue: readonly unknown[], replies: Pick<Outbox<unknown>, 'drain'>, done: number, carryOn: () => Promise<never>): Promise<boolean> {
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

interface Outbox<Result> {
  /** Sends a result without waiting for its delivery. */
  send(replyTo: string, result: Result): Promise<void>;
  /** Waits for every delivery still under way: call before the run ends (continue-as-new, return). */
  drain(): Promise<void>;
}

/**
 * Results sent in one go (a batch's answers, in one synchronous pass) leave together in one
 * deliverResults local activity; the ones Temporal did not take are tried again, with backoff.
 */
function outbox<Result extends { requestId: string }>(signal: SignalDefinition<[Result], ResultSignalName>): Outbox<Result> {
  const pending = new Set<Promise<void>>();
  let gathering: Array<Reply<Result>> = [];
  const deliver = async (): Promise<void> => {
    let left = gathering;
    gathering = [];
    for (let attempt = 0; ; attempt++) {
      const undelivered = await store.deliverResults({ signal: signal.name, replies: left });
      if (undelivered.length === 0) return;
      left = undelivered.map((i) => left[i]!);
      await sleep(Math.min(500 * 2 ** attempt, 30_000));
    }
  };
  return {
    send(replyTo, result) {
      if (gathering.length === 0) {
        // Delivered once this pass has queued all it sends: one activity for the lot.
        const delivery = Promise.resolve().then(deliver);
        pending.add(delivery);
        void delivery.then(() => pending.delete(delivery));
      }
      gathering.push({ replyTo, result });
      return Promise.resolve();
    },
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

/**
 * The requests taken, by request id. A repeat of one still queued or in flight is dropped (its
 * answer is coming). A repeat of one answered successfully gets that answer again: the requester
 * asks anew (a link provisioning again after a failure) and would otherwise wait forever; a
 * request that failed may be asked again, and runs again.
 */
function requests<Op extends ObjectOp, Result extends { ok: boolean }>(box: Outbox<Result>, queued: Op[]) {
  const seen = new Set(queued.map((op) => op.requestId));
  const answered = new Map<string, Result>();
  return {
    /** Whether `op` is new (to be queued); a repeat is answered here when it can be. */
    take(op: Op): boolean {
      if (!seen.has(op.requestId)) {
        seen.add(op.requestId);
        return true;
      }
      const earlier = answered.get(op.requestId);
      if (earlier) void box.send(op.replyTo, earlier);
      return false;
    },
    /** Sends the answer to `op` (see Outbox.send) and remembers it. */
    answer(op: Op, result: Result): Promise<void> {
      if (result.ok) answered.set(op.requestId, result);
      else seen.delete(op.requestId);
      return box.send(op.replyTo, result);
    },
  };
}
