// Bringing the tunnel up: the initiator initiates until both ends report the CHILD_SA installed.
import { condition } from '@temporalio/workflow';
import { peerOf, type LinkPlan, type PublicLinkConfig } from '../../contracts/link-plan';
import { onGateway } from './agents';
import type { LinkEntity } from './entity';
import { failureMessage, isConfigRefusal } from './errors';

const INITIATE_TIMEOUT_MS = 10_000;
/** Initiation attempts before the link shows as failed (it keeps trying after that). */
const ATTEMPTS_BEFORE_FAILED = 5;

export type TunnelOutcome = { up: true } | { up: false; why?: string };

/**
 * Initiates until both ends report the CHILD_SA installed (or the link is deleted / `aborted`).
 * With maxAttempts it gives up after that many; without, it keeps trying, showing the link as
 * failed after a few attempts. `restart` replaces whatever SA the initiator holds (after a change
 * its old SA runs on the old addresses or selectors). `config` is the initiator's config, applied
 * in the same activity as its first initiate; a config the agent refuses is thrown, not retried.
 */
export async function bringTunnelUp(
  link: LinkEntity,
  plan: LinkPlan,
  aborted: () => boolean,
  options: { maxAttempts?: number; restart?: boolean; config?: PublicLinkConfig } = {},
): Promise<TunnelOutcome> {
  const unsent = { config: options.config };
  for (let attempt = 1; ; attempt++) {
    if (link.deleteRequested || aborted()) return { up: false };
    const why = await initiateOnce(link, plan, options.restart === true, unsent);
    if (why === undefined) return { up: true };
    if (options.maxAttempts) {
      await link.recordEvent('tunnel.initiate_failed', `attempt ${attempt} of ${options.maxAttempts}: ${why}`);
      if (attempt >= options.maxAttempts) return { up: false, why };
      await condition(() => link.deleteRequested || aborted(), `${attempt}s`);
      continue;
    }
    const failed = attempt >= ATTEMPTS_BEFORE_FAILED;
    await link.setPhase(failed ? 'failed' : 'provisioning', why, 'tunnel.initiate_failed', `attempt ${attempt}: ${why}`);
    await condition(() => link.deleteRequested || aborted(), failed ? '30s' : `${Math.min(2 ** attempt, 10)}s`);
  }
}

/**
 * One initiation; undefined when both ends have the CHILD_SA, else why not. A config still to be
 * sent goes with it, and is dropped once the activity answered (it answers only past the push).
 * After a failure it goes again: the failure may have come before the agent took it, and a config
 * the agent already holds is a no-op there.
 */
async function initiateOnce(link: LinkEntity, plan: LinkPlan, restart: boolean, unsent: { config?: PublicLinkConfig }): Promise<string | undefined> {
  const initiator = plan[plan.initiator];
  const responder = peerOf(plan, plan.initiator);
  const config = unsent.config;
  const result = await onGateway(link, initiator, 'initiate the tunnel', (acts) =>
    acts.initiateLink({ linkId: link.linkId, gatewayId: initiator.gatewayId, name: plan.name, timeoutMs: INITIATE_TIMEOUT_MS, ...(restart ? { restart: true } : {}), ...(config ? { config } : {}) }),
  ).then(
    (answer) => {
      unsent.config = undefined;
      return answer;
    },
    (err: unknown) => {
      if (isConfigRefusal(err)) throw err;
      return { established: false, error: failureMessage(err) };
    },
  );
  if (result.established) {
    link.tunnelUp[initiator.gatewayId] = true;
    // The responder reports its CHILD_SA through the hub; ask it directly if the report is slow.
    if (!(await condition(() => link.tunnelUp[responder.gatewayId] === true, '3s'))) {
      const status = await onGateway(link, responder, 'check its tunnel', (acts) => acts.tunnelStatus({ gatewayId: responder.gatewayId, name: plan.name }));
      if (status.installed) link.tunnelUp[responder.gatewayId] = true;
    }
    if (link.tunnelUp[responder.gatewayId]) return undefined;
  }
  return 'error' in result ? result.error : 'the tunnel did not come up';
}
