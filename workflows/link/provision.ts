// Provisioning: plan with both endpoints known, claim the cloud side, then push the responder's
// config, prepare the cloud ends and write routes side by side, and bring the tunnel up with the
// initiator's config sent alongside its initiate.
import { condition, workflowInfo } from '@temporalio/workflow';
import type { ClaimedSide } from '../../activities/cloud-store';
import { configFor, other, type LinkPlan, type SideName } from '../../contracts/link-plan';
import { applyRoutes, prepareCloudSide, type CloudWriters } from '../link-cloud';
import { onGateway } from './agents';
import type { LinkEntity } from './entity';
import { store } from '../bookkeeping';
import { bringTunnelUp } from './tunnel';

type Claimed = Partial<Record<SideName, ClaimedSide>>;

/** Provisions the link and records it `up`; returns early (nothing left running) when a delete arrives. */
export async function provision(link: LinkEntity): Promise<void> {
  const { plan, claimed } = await planWithEndpoints(link);
  link.rememberQueues(plan);
  if (link.deleteRequested) {
    // Writes planAndClaim already queued finish first: the teardown must know which routes
    // were there before us (and stay) before it removes the link's routes.
    if (claimed) await writeRoutes(plan, link.writers, claimed).settled;
    return;
  }
  link.configVersion++;
  // Routes do not affect IKE: write them from the start, alongside everything else.
  const routes = writeRoutes(plan, link.writers, claimed);
  const settleRoutesFirst = async (err: unknown): Promise<never> => {
    // Let the route writes settle before reporting, so their outcome is recorded too.
    await routes.settled;
    throw err;
  };
  // The responder's config, and on cloud ends the instance and the security-group rule for the
  // peer, before IKE. The initiator's config goes with its initiate, in one activity.
  const responder = other(plan.initiator);
  await Promise.all([
    onGateway(link, plan[responder], 'push its config', (acts) => acts.pushLinkConfig({ linkId: link.linkId, gatewayId: plan[responder].gatewayId, config: configFor(plan, responder, link.configVersion) })),
    prepareCloudSide(plan, 'a', link.writers, claimed?.a),
    prepareCloudSide(plan, 'b', link.writers, claimed?.b),
  ]).catch(settleRoutesFirst);
  const tunnel = bringTunnelUp(link, plan, () => routes.error() !== undefined, { config: configFor(plan, plan.initiator, link.configVersion) }).catch(settleRoutesFirst);
  await Promise.all([routes.settled, tunnel]);
  const failed = routes.error();
  if (failed) throw failed;
  if (link.deleteRequested) return;
  link.applied = plan;
  await link.setPhase('up', undefined, 'link.up', `CHILD_SA installed on both ${plan.a.gatewayName} and ${plan.b.gatewayName}${plan.initiatorWhy ? `; ${plan.initiatorWhy}` : ''}`);
}

/**
 * Plans with both endpoints known; an endpoint appears once the gateway has connected once.
 * Then (in the same activity) each cloud end claims its routes and peer rule, handed at once to
 * the workflows that write them. While no end can take the connection, the link shows as failed
 * and waits for a change or a reconnect.
 */
async function planWithEndpoints(link: LinkEntity): Promise<{ plan: LinkPlan; claimed?: Claimed }> {
  let announced = false;
  let refusal: string | undefined;
  for (;;) {
    const planned = await store.planAndClaim({ linkId: link.linkId, enqueue: { replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue } });
    const plan = planned.plan;
    if (plan.refused !== undefined && !link.deleteRequested) {
      // A proxy site and a NAT that lets nothing in: wait for the operator to change a gateway,
      // or for a reconnect that brings new facts.
      if (refusal !== plan.refused) {
        refusal = plan.refused;
        await link.setPhase('failed', plan.refused, 'link.unreachable', plan.refused);
      }
      const mark = link.mark();
      await condition(() => link.changedSince(mark) || link.deleteRequested, '30s');
      continue;
    }
    const responder = plan[plan.initiator === 'a' ? 'b' : 'a'];
    // The initiator must know where to dial; the responder can accept from any address.
    if (responder.endpoint || link.deleteRequested) return planned;
    link.waitingFor = responder.gatewayId;
    if (!announced) {
      announced = true; // once, not every 30 s while the gateway stays away
      await link.recordEvent('gateway.waiting', `waiting for gateway ${responder.gatewayName} to report its public address (it has never connected)`, { gatewayId: responder.gatewayId });
    }
    const reconnects = link.reconnects(responder.gatewayId);
    await condition(() => link.reconnects(responder.gatewayId) !== reconnects || link.deleteRequested, '30s');
  }
}

/**
 * Starts both ends' route writes. `settled` never rejects (an unhandled rejection would fail the
 * workflow task); the first error is kept for the caller.
 */
export function writeRoutes(plan: LinkPlan, writers: CloudWriters, claimed?: Claimed): { settled: Promise<void>; error: () => Error | undefined } {
  let error: Error | undefined;
  const settled = Promise.all([applyRoutes(plan, 'a', writers, claimed?.a?.routes), applyRoutes(plan, 'b', writers, claimed?.b?.routes)]).then(
    () => undefined,
    (err: unknown) => {
      error = err instanceof Error ? err : new Error('route writes failed');
    },
  );
  return { settled, error: () => error };
}
