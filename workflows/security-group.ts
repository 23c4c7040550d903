// One workflow per Alibaba Cloud security group batches its rule changes: while one
// AuthorizeSecurityGroup / RevokeSecurityGroup call waits for its rate-limit slot, the rules other
// links ask for queue up and go out together in the next call (Permissions.N takes 100 rules), so
// a hub gateway with hundreds of peers spends a handful of calls instead of one per peer. Link
// workflows enqueue (signal-with-start, by an activity) and get each result back as a signal.
import { continueAsNew, defineSignal, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { MAX_PEER_RULES_PER_CALL } from '../cloud/types';
import { cloudActs } from './cloud-calls';
import { ruleOpSignal, type RuleOp } from '../contracts/cloud-objects';
import { nextOp, opFailure, outbox, requests, type OpFailure } from './serialising';

export type RuleOpResult = { requestId: string; ok: true } | OpFailure;

export const ruleResultSignal = defineSignal<[RuleOpResult]>('ruleResult');

const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

export async function securityGroupWorkflow(input: { pending?: RuleOp[] } = {}): Promise<void> {
  const queue: RuleOp[] = [...(input.pending ?? [])];
  // Runs from before waited for every reply to arrive before the next call, and dropped every
  // repeated request.
  const replies = outbox(ruleResultSignal, patched('replies-in-background'));
  const taken = requests<RuleOp, RuleOpResult>(replies, patched('answer-repeated-requests'), queue);
  setHandler(ruleOpSignal, (op) => {
    if (taken.take(op)) queue.push(op);
  });
  for (let done = 0; ; done++) {
    if (!(await nextOp(queue, replies, done, () => continueAsNew<typeof securityGroupWorkflow>({ pending: queue })))) return;
    // Consecutive ops of one kind, one per peer: an allow and a revoke of the same peer keep
    // their order, and a peer asked for twice is one rule.
    const kind = queue[0]!.op;
    const peers = new Set<string>();
    let n = 0;
    while (n < queue.length && queue[n]!.op === kind && (peers.has(queue[n]!.rule.peerIp) || peers.size < MAX_PEER_RULES_PER_CALL)) peers.add(queue[n++]!.rule.peerIp);
    const batch = queue.splice(0, n);
    const rules = [...new Map(batch.map((o) => [o.rule.peerIp, o.rule])).values()];
    const { ref, baseQueue } = batch[0]!;
    let results: RuleOpResult[];
    try {
      const acts = cloudActs(ref, 'securityGroup', baseQueue);
      if (kind === 'allow') await acts.cloudAllowPeers({ ...ref, rules });
      else {
        // A rule released by one link may have been claimed again by another meanwhile.
        const unneeded = await store.unclaimedRules(rules);
        if (unneeded.length) await acts.cloudRevokePeers({ ...ref, rules: unneeded });
      }
      results = batch.map((o) => ({ requestId: o.requestId, ok: true }));
    } catch (err) {
      results = batch.map((o) => opFailure(o.requestId, err));
    }
    await Promise.all(batch.map((o, i) => taken.answer(o, results[i]!)));
  }
}
