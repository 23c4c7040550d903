// Deleting a link: routes first, so no subnet keeps sending traffic to a tunnel about to go, then
// both configs, then the record.
import type { SideName } from '../../contracts/link-plan';
import { removeCloudSide } from '../link-cloud';
import { onGateway } from './agents';
import type { LinkEntity } from './entity';
import { store } from '../bookkeeping';

const SIDES: readonly SideName[] = ['a', 'b'];

export async function teardown(link: LinkEntity): Promise<void> {
  await link.setPhase('deleting', undefined, 'link.deleting', 'tearing down both ends');
  const plan = await store.planLink(link.linkId);
  link.rememberQueues(plan);
  await Promise.all(SIDES.map((side) => removeCloudSide(plan, side, link.writers)));
  await Promise.all(
    SIDES.map((side) => onGateway(link, plan[side], 'remove its config', (acts) => acts.removeLinkFrom({ linkId: link.linkId, gatewayId: plan[side].gatewayId, name: plan.name }))),
  );
  link.phase = 'deleted';
  await store.finishDelete(link.linkId);
}
