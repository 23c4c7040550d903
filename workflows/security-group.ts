// One workflow per security group of a provider with batched rule writes (Alibaba Cloud), run by the
// shared skeleton in ./serialising.ts: while one AuthorizeSecurityGroup / RevokeSecurityGroup call
// waits for its rate-limit slot, the rules other links ask for queue up and go out together in the
// next call (Permissions.N), so a hub gateway with hundreds of peers spends a handful of calls
// instead of one per peer.
import { defineSignal, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { capabilitiesOf } from '../cloud/capabilities';
import { cloudActs } from './cloud-calls';
import { ruleOpSignal, type RuleOp } from '../contracts/cloud-objects';
import { opFailure, serialiseCloudObject, type OpFailure } from './serialising';

export type RuleOpResult = { requestId: string; ok: true } | OpFailure;

export const ruleResultSignal = defineSignal<[RuleOpResult], 'ruleResult'>('ruleResult');

const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

export async function securityGroupWorkflow(input: { pending?: RuleOp[] } = {}): Promise<void> {
  await serialiseCloudObject<RuleOp, RuleOpResult>(
    {
      opSignal: ruleOpSignal,
      resultSignal: ruleResultSignal,
      batchSize: ruleBatchSize,
      write: writeRules,
      carry: (pending): Parameters<typeof securityGroupWorkflow>[0] => ({ pending }),
    },
    input.pending,
  );
}

/**
 * Consecutive ops of one kind, up to the provider's peers per call: an allow and a revoke of the
 * same peer keep their order, and a peer asked for twice is one rule.
 */
function ruleBatchSize(queue: readonly RuleOp[]): number {
  const head = queue[0]!;
  const most = capabilitiesOf(head.ref.provider).peerRulesPerCall;
  const peers = new Set<string>();
  let size = 0;
  while (size < queue.length && queue[size]!.op === head.op && (peers.has(queue[size]!.rule.peerIp) || peers.size < most)) peers.add(queue[size++]!.rule.peerIp);
  return size;
}

async function writeRules(batch: RuleOp[]): Promise<RuleOpResult[]> {
  const rules = [...new Map(batch.map((op) => [op.rule.peerIp, op.rule])).values()];
  const { ref, baseQueue, op: kind } = batch[0]!;
  try {
    const acts = cloudActs(ref, 'securityGroup', baseQueue);
    if (kind === 'allow') await acts.cloudAllowPeers({ ...ref, rules });
    else {
      // A rule released by one link may have been claimed again by another meanwhile.
      const unneeded = await store.unclaimedRules(rules);
      if (unneeded.length) await acts.cloudRevokePeers({ ...ref, rules: unneeded });
    }
    return batch.map((op) => ({ requestId: op.requestId, ok: true }));
  } catch (err) {
    return batch.map((op) => opFailure(op.requestId, err));
  }
}
