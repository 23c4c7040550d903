// Agent calls: each runs on the task queue of the controller holding the gateway's agent (DESIGN
// §2), waiting (not failing) while the gateway is offline or moving between controllers.
import { condition, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { LinkSide } from '../../contracts/link-plan';
import type { LinkEntity } from './entity';
import { DeleteRequested, isUnreachable } from './errors';
import { store } from '../bookkeeping';

/** Activities on one controller's queue. */
function agentCall(taskQueue: string): Activities {
  return proxyActivities<Activities>({
    taskQueue,
    // A dead controller never starts the task: notice quickly and re-locate the gateway.
    scheduleToStartTimeout: '5s',
    startToCloseTimeout: '30s',
    // The activity heartbeats while it waits on the agent: a controller that dies mid-call is
    // noticed in seconds, not after the whole start-to-close timeout.
    heartbeatTimeout: '4s',
    // The workflow re-locates the gateway between attempts, so the activity itself tries once.
    retry: { maximumAttempts: 1 },
  });
}

/**
 * Runs `call` on whichever controller holds the side's gateway. Rejections by the agent are
 * returned as failures; an unreachable gateway is waited for (woken early when it reconnects).
 * A delete arriving meanwhile ends the wait with DeleteRequested.
 */
export async function onGateway<T>(link: LinkEntity, side: LinkSide, what: string, call: (acts: Activities) => Promise<T>): Promise<T> {
  let delayMs = 500;
  let announced = false;
  for (;;) {
    const reconnects = link.reconnects(side.gatewayId);
    // Where the gateway was last seen saves a lookup per call; a miss falls back to asking.
    const known = link.knownQueue(side.gatewayId);
    const queue = known ?? (await store.locateGateway(side.gatewayId)).queue;
    if (queue) {
      try {
        const result = await call(agentCall(queue));
        link.rememberQueue(side.gatewayId, queue);
        link.waitingFor = undefined;
        return result;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        link.rememberQueue(side.gatewayId, undefined);
        log.info('gateway unreachable, will retry', { gatewayId: side.gatewayId, what });
        if (known) continue; // the gateway moved or went away: look it up now
      }
    }
    if (link.interrupted) throw new DeleteRequested();
    link.waitingFor = side.gatewayId;
    if (!announced) {
      announced = true;
      await link.recordEvent('gateway.waiting', `waiting for gateway ${side.gatewayName} (${side.gatewayId}) to be online to ${what}`, { gatewayId: side.gatewayId });
    }
    // Wake early when the gateway reconnects somewhere.
    await condition(() => link.reconnects(side.gatewayId) !== reconnects || link.interrupted, delayMs);
    delayMs = Math.min(delayMs * 2, 10_000);
  }
}
