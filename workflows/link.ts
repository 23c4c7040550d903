// One entity workflow per link: it owns the link's life and serialises every change to it.
// Create: plan → push config to both ends → initiate → wait until both ends report the CHILD_SA
// installed. Then it stays, following tunnel reports, until it is asked to delete the link.
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, LinkPlan, LinkSide, PublicLinkConfig } from '../activities';
import { applyRoutes, prepareCloudSide, removeCloudSide, routeWriter, CloudStepFailed } from './link-cloud';
import {
  deleteUpdate,
  gatewayOnlineSignal,
  statusQuery,
  tunnelSignal,
  type LinkPhase,
  type LinkWorkflowInput,
} from './definitions';

// Bookkeeping in the controller's database: quick, retried until it works.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/** Agent calls go to the task queue of the controller holding the agent's socket (DESIGN §2). */
function agentCall(taskQueue: string, startToClose = '30s') {
  return proxyActivities<Activities>({
    taskQueue,
    // A dead controller never starts the task: notice quickly and re-locate the gateway.
    scheduleToStartTimeout: '5s',
    startToCloseTimeout: startToClose,
    // The workflow re-locates the gateway between attempts, so the activity itself tries once.
    retry: { maximumAttempts: 1 },
  });
}

const INITIATE_TIMEOUT_MS = 10_000;
/** Initiation attempts before the link shows as failed (it keeps trying after that). */
const ATTEMPTS_BEFORE_FAILED = 5;

export async function linkWorkflow(input: LinkWorkflowInput): Promise<void> {
  const { linkId } = input;
  let phase: LinkPhase = input.carried?.phase ?? 'provisioning';
  let configVersion = input.carried?.configVersion ?? 0;
  let deleteRequested = false;
  const tunnelUp: Record<string, boolean> = { ...input.carried?.tunnelUp };
  const onlineTicks: Record<string, number> = {};
  let waitingFor: string | undefined;

  setHandler(tunnelSignal, ({ gatewayId, up }) => {
    tunnelUp[gatewayId] = up;
  });
  setHandler(gatewayOnlineSignal, ({ gatewayId }) => {
    onlineTicks[gatewayId] = (onlineTicks[gatewayId] ?? 0) + 1;
  });
  setHandler(
    deleteUpdate,
    () => {
      deleteRequested = true;
      return { accepted: true as const };
    },
    {
      validator: () => {
        if (deleteRequested) throw new Error('link is already being deleted');
      },
    },
  );
  const writeRoute = routeWriter();
  // Histories from before plans carried each gateway's queue looked it up before every agent call.
  const useKnownQueues = patched('agent-queue-from-plan');
  const knownQueue: Record<string, string> = {};
  const remember = (plan: LinkPlan): void => {
    for (const side of [plan.a, plan.b]) if (useKnownQueues && side.queue) knownQueue[side.gatewayId] = side.queue;
  };
  setHandler(statusQuery, () => ({ phase, configVersion, tunnelUp: { ...tunnelUp }, ...(waitingFor ? { waitingFor } : {}) }));

  const setPhase = async (next: LinkPhase, reason: string | undefined, type: string, message: string): Promise<void> => {
    phase = next;
    await store.setLinkState({ linkId, state: next, reason, event: { type, message } });
  };

  /**
   * Runs an agent call on whichever controller holds the gateway, waiting (not failing) while the
   * gateway is offline or moving between controllers. Rejections by the agent are returned to
   * the caller as failures.
   */
  async function onGateway<T>(side: LinkSide, what: string, call: (acts: Activities) => Promise<T>): Promise<T> {
    let delayMs = 500;
    let announced = false;
    for (;;) {
      const ticks = onlineTicks[side.gatewayId] ?? 0;
      // Where the gateway was last seen saves a lookup per call; a miss falls back to asking.
      const known = useKnownQueues ? knownQueue[side.gatewayId] : undefined;
      const queue = known ?? (await store.locateGateway(side.gatewayId)).queue;
      if (queue) {
        try {
          const r = await call(agentCall(queue));
          if (useKnownQueues) knownQueue[side.gatewayId] = queue;
          waitingFor = undefined;
          return r;
        } catch (err) {
          if (!isUnreachable(err)) throw err;
          delete knownQueue[side.gatewayId];
          log.info('gateway unreachable, will retry', { gatewayId: side.gatewayId, what });
          if (known) continue; // the gateway moved or went away: look it up now
        }
      }
      if (deleteRequested && phase !== 'deleting') throw new DeleteRequested();
      waitingFor = side.gatewayId;
      if (!announced) {
        announced = true;
        await store.recordEvent({ linkId, type: 'gateway.waiting', message: `waiting for gateway ${side.gatewayName} (${side.gatewayId}) to be online to ${what}`, data: { gatewayId: side.gatewayId } });
      }
      // Wake early when the gateway reconnects somewhere.
      await condition(() => (onlineTicks[side.gatewayId] ?? 0) !== ticks || (deleteRequested && phase !== 'deleting'), delayMs);
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  }

  const configFor = (plan: LinkPlan, self: 'a' | 'b'): PublicLinkConfig => {
    const me = plan[self];
    const peer = plan[self === 'a' ? 'b' : 'a'];
    return {
      name: plan.name,
      version: configVersion,
      localId: me.identity,
      remoteId: peer.identity,
      // Clouds put 1:1 NAT in front of the gateway: never assume the public address is local.
      localAddrs: ['%any'],
      remoteAddrs: [peer.endpoint ?? '%any'],
      localTs: me.cidrs,
      remoteTs: peer.cidrs,
      initiator: plan.initiator === self,
    };
  };

  /** Plans with both endpoints known; an endpoint appears once the gateway has connected once. */
  async function planWithEndpoints(): Promise<LinkPlan> {
    let announced = false;
    for (;;) {
      const plan = await store.planLink(linkId);
      const responder = plan[plan.initiator === 'a' ? 'b' : 'a'];
      // The initiator must know where to dial; the responder can accept from any address.
      if (responder.endpoint || deleteRequested) return plan;
      waitingFor = responder.gatewayId;
      if (!announced) {
        announced = true; // once, not every 30 s while the gateway stays away
        await store.recordEvent({ linkId, type: 'gateway.waiting', message: `waiting for gateway ${responder.gatewayName} to report its public address (it has never connected)`, data: { gatewayId: responder.gatewayId } });
      }
      const ticks = onlineTicks[responder.gatewayId] ?? 0;
      await condition(() => (onlineTicks[responder.gatewayId] ?? 0) !== ticks || deleteRequested, '30s');
    }
  }

  async function provision(): Promise<void> {
    const plan = await planWithEndpoints();
    remember(plan);
    if (deleteRequested) return;
    configVersion++;
    // Routes do not affect IKE: write them from the start, alongside everything else.
    // Never rejects (an unhandled rejection would fail the workflow task); the error is kept.
    let routesError: Error | undefined;
    const routes = Promise.all([applyRoutes(plan, 'a', writeRoute), applyRoutes(plan, 'b', writeRoute)]).then(
      () => undefined,
      (err: unknown) => {
        routesError = err instanceof Error ? err : new Error('route writes failed');
      },
    );
    // Configs, and on cloud ends the instance and the security-group rule for the peer, before IKE.
    await Promise.all([
      ...(['a', 'b'] as const).map((s) =>
        onGateway(plan[s], 'push its config', (acts) => acts.pushLinkConfig({ linkId, gatewayId: plan[s].gatewayId, config: configFor(plan, s) })),
      ),
      prepareCloudSide(plan, 'a'),
      prepareCloudSide(plan, 'b'),
    ]).catch(async (err: unknown) => {
      // Let the route writes settle before reporting, so their outcome is recorded too.
      await routes;
      throw err;
    });
    const tunnel = bringTunnelUp(plan, () => routesError !== undefined);
    await Promise.all([routes, tunnel]);
    if (routesError) throw routesError;
    if (deleteRequested) return;
    await setPhase('up', undefined, 'link.up', `CHILD_SA installed on both ${plan.a.gatewayName} and ${plan.b.gatewayName}`);
  }

  /** Initiates until both ends report the CHILD_SA installed (or the link is deleted / aborted). */
  async function bringTunnelUp(plan: LinkPlan, aborted: () => boolean): Promise<void> {
    const initiator = plan[plan.initiator];
    const responder = plan[plan.initiator === 'a' ? 'b' : 'a'];
    for (let attempt = 1; ; attempt++) {
      if (deleteRequested || aborted()) return;
      const r = await onGateway(initiator, 'initiate the tunnel', (acts) =>
        acts.initiateLink({ linkId, gatewayId: initiator.gatewayId, name: plan.name, timeoutMs: INITIATE_TIMEOUT_MS }),
      ).catch((err: unknown) => ({ established: false, error: failureMessage(err) }));
      if (r.established) {
        tunnelUp[initiator.gatewayId] = true;
        // The responder reports its CHILD_SA through the hub; ask it directly if the report is slow.
        if (!(await condition(() => tunnelUp[responder.gatewayId] === true, '3s'))) {
          const s = await onGateway(responder, 'check its tunnel', (acts) => acts.tunnelStatus({ gatewayId: responder.gatewayId, name: plan.name }));
          if (s.installed) tunnelUp[responder.gatewayId] = true;
        }
        if (tunnelUp[responder.gatewayId]) return;
      }
      const why = 'error' in r ? r.error : 'the tunnel did not come up';
      const failed = attempt >= ATTEMPTS_BEFORE_FAILED;
      await setPhase(failed ? 'failed' : 'provisioning', why, 'tunnel.initiate_failed', `attempt ${attempt}: ${why}`);
      await condition(() => deleteRequested || aborted(), failed ? '30s' : `${Math.min(2 ** attempt, 10)}s`);
    }
  }

  async function teardown(): Promise<void> {
    await setPhase('deleting', undefined, 'link.deleting', 'tearing down both ends');
    const plan = await store.planLink(linkId);
    remember(plan);
    // Routes first, so no subnet keeps sending traffic to a tunnel that is about to go.
    await Promise.all([removeCloudSide(plan, 'a', writeRoute), removeCloudSide(plan, 'b', writeRoute)]);
    await Promise.all(
      (['a', 'b'] as const).map((s) =>
        onGateway(plan[s], 'remove its config', (acts) => acts.removeLinkFrom({ linkId, gatewayId: plan[s].gatewayId, name: plan.name })),
      ),
    );
    phase = 'deleted';
    await store.finishDelete(linkId);
  }

  try {
    if (phase === 'provisioning' || phase === 'failed') await provision();
  } catch (err) {
    if (!(err instanceof DeleteRequested)) {
      // A refusal that retrying cannot fix (e.g. charon rejected the config): say why and stay,
      // so the operator can still delete the link.
      await setPhase('failed', failureMessage(err), 'link.failed', failureMessage(err));
    }
  }

  // Steady state: follow what the agents report until a delete arrives.
  const allUp = (): boolean => Object.values(tunnelUp).every(Boolean);
  let seenUp = allUp();
  while (!deleteRequested) {
    await condition(() => deleteRequested || allUp() !== seenUp || workflowInfo().continueAsNewSuggested);
    if (deleteRequested) break;
    if (allUp() === seenUp) {
      await continueAsNew<typeof linkWorkflow>({ linkId, carried: { phase, configVersion, tunnelUp } });
    }
    seenUp = allUp();
    if (seenUp && phase === 'degraded') await setPhase('up', undefined, 'tunnel.up', 'tunnel re-established');
    if (!seenUp && phase === 'up') await setPhase('degraded', 'an end reported its tunnel down', 'tunnel.down', 'an end reported its CHILD_SA down; strongSwan is re-establishing it');
  }
  await teardown();
}

class DeleteRequested extends Error {}

/** Gateway offline, its controller gone, or the call lost in transit: retry elsewhere/later. */
function isUnreachable(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.type === 'GatewayUnreachable';
  return true; // timeouts (schedule-to-start, start-to-close) and cancellations
}

function failureMessage(err: unknown): string {
  if (err instanceof CloudStepFailed) return err.message;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
