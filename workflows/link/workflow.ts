// One entity workflow per link: it owns the link's life and serialises every change to it.
// Create: plan → push config to both ends → initiate → wait until both ends report the CHILD_SA
// installed. Then it stays, following tunnel reports and applying changes, until it is asked to
// delete the link. The state and its handlers live in LinkEntity; each phase in its own module.
import { condition } from '@temporalio/workflow';
import type { LinkWorkflowInput } from '../../contracts/link-workflow';
import { applyPendingChanges } from './change';
import { LinkEntity } from './entity';
import { DeleteRequested, failureMessage } from './errors';
import { provision } from './provision';
import { teardown } from './teardown';

export async function linkWorkflow(input: LinkWorkflowInput): Promise<void> {
  const link = new LinkEntity(input);
  if (link.phase === 'provisioning' || link.phase === 'failed') await provisionOrFail(link);
  // Steady state: follow what the agents report and apply changes until a delete arrives.
  let seenUp = link.healthy();
  while (!link.deleteRequested) {
    await condition(() => link.deleteRequested || link.changePending() || link.healthy() !== seenUp || LinkEntity.continueAsNewSuggested());
    if (link.deleteRequested) break;
    if (link.changePending()) {
      if ((await applyPendingChanges(link)) === 'delete') break;
      seenUp = link.healthy();
      continue;
    }
    if (link.healthy() === seenUp) await link.continueAsNew();
    seenUp = link.healthy();
    await followTunnelReports(link, seenUp);
  }
  await teardown(link);
}

/** A refusal retrying cannot fix (e.g. charon rejected the config) shows why; the link stays, so it can still be deleted. */
async function provisionOrFail(link: LinkEntity): Promise<void> {
  try {
    await provision(link);
  } catch (err) {
    if (!(err instanceof DeleteRequested)) await link.setPhase('failed', failureMessage(err), 'link.failed', failureMessage(err));
  }
}

/**
 * An end's CHILD_SA went down (strongSwan re-establishes it) or came back; or, with IKE up, an end's
 * probes through the tunnel stopped (or resumed) being answered. One transition, one event.
 */
async function followTunnelReports(link: LinkEntity, healthy: boolean): Promise<void> {
  if (healthy && link.phase === 'degraded') {
    const wasProbes = link.degradedBy === 'probe';
    link.degradedBy = undefined;
    await link.setPhase('up', undefined, wasProbes ? 'dataplane.recovered' : 'tunnel.up', wasProbes ? 'probes through the tunnel are answered again' : 'tunnel re-established');
  }
  if (!healthy && link.phase === 'up') {
    const probe = link.allUp() ? link.probeProblem() : undefined;
    link.degradedBy = probe !== undefined ? 'probe' : 'tunnel';
    if (probe !== undefined) await link.setPhase('degraded', probe, 'dataplane.degraded', probe);
    else await link.setPhase('degraded', 'an end reported its tunnel down', 'tunnel.down', 'an end reported its CHILD_SA down; strongSwan is re-establishing it');
  }
}
