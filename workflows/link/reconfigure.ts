// Moving a running link from one plan to another, make-before-break where the network allows.
import { configFor, diffPlans, type LinkPlan, type SideName } from '../../contracts/link-plan';
import { allowPeer, prepareInstance, pruneCloudSide } from '../link-cloud';
import { onGateway } from './agents';
import type { LinkEntity } from './entity';
import { ChangeFailed, DeleteRequested } from './errors';
import { writeRoutes } from './provision';
import { bringTunnelUp } from './tunnel';

/** Initiation attempts a change gets before it is given up (and a CIDR change rolled back). */
const CHANGE_ATTEMPTS = 3;
const SIDES: readonly SideName[] = ['a', 'b'];

/**
 * Rules for a new peer address and new routes first, then both configs, then the tunnel is
 * re-established, and only then routes and rules the new plan no longer needs are removed.
 * Throws when a step fails for good; the caller decides whether to roll back.
 */
export async function reconfigure(link: LinkEntity, from: LinkPlan, to: LinkPlan): Promise<void> {
  const change = diffPlans(from, to);
  link.rememberQueues(to);
  link.configVersion++;
  const routes = writeRoutes(to, link.writers);
  const moved = (side: SideName): boolean => to[side].cloud !== undefined && to[side].cloud?.instanceId !== from[side].cloud?.instanceId;
  await Promise.all([
    // A gateway now on another instance (EC2: its source/destination check must be off too).
    ...SIDES.map((side) => (moved(side) ? prepareInstance(to, side) : Promise.resolve())),
    ...SIDES.map((side) => (change[side].ruleAdded ? allowPeer(to, side, link.writers) : Promise.resolve())),
    // Both ends get the new version (an unchanged config is a no-op on the agent).
    ...SIDES.map((side) =>
      onGateway(link, to[side], 'push its new config', (acts) => acts.pushLinkConfig({ linkId: link.linkId, gatewayId: to[side].gatewayId, config: configFor(to, side, link.configVersion) })),
    ),
  ]).catch(async (err: unknown) => {
    await routes.settled;
    throw err;
  });
  for (const side of SIDES) link.tunnelUp[to[side].gatewayId] = false;
  const tunnel = await bringTunnelUp(link, to, () => routes.error() !== undefined, { maxAttempts: CHANGE_ATTEMPTS, restart: true });
  await routes.settled;
  const failed = routes.error();
  if (failed) throw failed;
  if (link.deleteRequested) throw new DeleteRequested();
  if (!tunnel.up) throw new ChangeFailed(`the tunnel did not come up with the new configuration: ${tunnel.why ?? 'aborted'}`);
  await Promise.all(SIDES.map((side) => pruneCloudSide(to, side, link.writers)));
}
