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
import type { Activities } from '../activities';
import { allowPeer, applyRoutes, cloudWriters, prepareCloudSide, prepareInstance, pruneCloudSide, removeCloudSide, CloudStepFailed } from './link-cloud';
import { configFor, describeChange, diffPlans, type LinkPlan, type LinkSide, type SideName } from '../contracts/link-plan';
import type { ClaimedSide } from '../activities/cloud-store';
import {
  deleteUpdate,
  gatewayOnlineSignal,
  reconfigureSignal,
  statusQuery,
  tunnelSignal,
  type LinkPhase,
  type LinkWorkflowInput,
} from '../contracts/link-workflow';

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
    // The activity heartbeats while it waits on the agent: a controller that dies mid-call is
    // noticed in seconds, not after the whole start-to-close timeout.
    heartbeatTimeout: '4s',
    // The workflow re-locates the gateway between attempts, so the activity itself tries once.
    retry: { maximumAttempts: 1 },
  });
}

const INITIATE_TIMEOUT_MS = 10_000;
/** Initiation attempts before the link shows as failed (it keeps trying after that). */
const ATTEMPTS_BEFORE_FAILED = 5;
/** Initiation attempts a change gets before it is given up (and a CIDR change rolled back). */
const CHANGE_ATTEMPTS = 3;

export async function linkWorkflow(input: LinkWorkflowInput): Promise<void> {
  const { linkId } = input;
  let phase: LinkPhase = input.carried?.phase ?? 'provisioning';
  let configVersion = input.carried?.configVersion ?? 0;
  let deleteRequested = false;
  const tunnelUp: Record<string, boolean> = { ...input.carried?.tunnelUp };
  const onlineTicks: Record<string, number> = {};
  /** Reconnects of either end so far. */
  const allOnlineTicks = (): number => Object.values(onlineTicks).reduce((sum, n) => sum + n, 0);
  let waitingFor: string | undefined;
  /** The plan that last came up: changes are diffed against it and rolled back to it. */
  let applied: LinkPlan | undefined = input.carried?.applied;
  let changesRequested = 0;
  /** The last re-plan found no end to connect to (see converge). */
  let refusedSince = false;
  let changesHandled = 0;

  setHandler(tunnelSignal, ({ gatewayId, up }) => {
    tunnelUp[gatewayId] = up;
  });
  setHandler(reconfigureSignal, () => {
    changesRequested++;
  });
  // Histories from before links followed changes: a reconnect only woke a waiting step.
  const convergeOnReconnect = patched('converge-on-reconnect');
  setHandler(gatewayOnlineSignal, ({ gatewayId }) => {
    onlineTicks[gatewayId] = (onlineTicks[gatewayId] ?? 0) + 1;
    // A reconnect may bring a new public address (or the agent moved): check the plan again.
    if (convergeOnReconnect) changesRequested++;
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
  // Histories from before rules were batched per security group called the cloud directly.
  const batchRules = patched('batched-peer-rules');
  const claimEnqueues = patched('claim-enqueues-routes');
  // Histories from before planned, claimed routes and claimed the rule in separate activities, and
  // wrote each event on its own.
  const claimOnce = batchRules && claimEnqueues && patched('plan-and-claim');
  // Histories from before left a new instance (a standby that took over) as it was, and deleted and
  // re-created EC2 routes instead of re-pointing them.
  const prepareMovedInstances = patched('prepare-moved-instance');
  const writers = cloudWriters({ linkId, batchRules, claimEnqueues, defer: claimOnce, replaceOwned: patched('replace-owned-routes') });
  // Histories from before plans carried each gateway's queue looked it up before every agent call.
  const useKnownQueues = patched('agent-queue-from-plan');
  const knownQueue: Record<string, string> = {};
  const remember = (plan: LinkPlan): void => {
    for (const side of [plan.a, plan.b]) if (useKnownQueues && side.queue) knownQueue[side.gatewayId] = side.queue;
  };
  setHandler(statusQuery, () => ({ phase, configVersion, tunnelUp: { ...tunnelUp }, ...(waitingFor ? { waitingFor } : {}) }));

  const setPhase = async (next: LinkPhase, reason: string | undefined, type: string, message: string): Promise<void> => {
    phase = next;
    // Route outcomes and events recorded since the last write go in the same transaction.
    await store.setLinkState({ linkId, state: next, reason, ...writers.pending(), event: { type, message } });
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

  /**
   * Plans with both endpoints known; an endpoint appears once the gateway has connected once.
   * Then (in the same activity) each cloud end claims its routes and peer rule, handed at once to
   * the workflows that write them.
   */
  async function planWithEndpoints(): Promise<{ plan: LinkPlan; claimed?: Partial<Record<SideName, ClaimedSide>> }> {
    let announced = false;
    let refusal: string | undefined;
    for (;;) {
      const r = claimOnce ? await store.planAndClaim({ linkId, enqueue: { replyTo: workflowInfo().workflowId, baseQueue: workflowInfo().taskQueue } }) : { plan: await store.planLink(linkId) };
      const plan = r.plan;
      if (plan.refused !== undefined && !deleteRequested) {
        // No end can take the connection (a proxy site and a NAT that lets nothing in): wait for
        // the operator to change a gateway, or for a reconnect that brings new facts.
        if (refusal !== plan.refused) {
          refusal = plan.refused;
          await setPhase('failed', plan.refused, 'link.unreachable', plan.refused);
        }
        const [changes, reconnects] = [changesRequested, allOnlineTicks()];
        await condition(() => changesRequested !== changes || allOnlineTicks() !== reconnects || deleteRequested, '30s');
        continue;
      }
      const responder = plan[plan.initiator === 'a' ? 'b' : 'a'];
      // The initiator must know where to dial; the responder can accept from any address.
      if (responder.endpoint || deleteRequested) return r;
      waitingFor = responder.gatewayId;
      if (!announced) {
        announced = true; // once, not every 30 s while the gateway stays away
        await store.recordEvent({ linkId, type: 'gateway.waiting', message: `waiting for gateway ${responder.gatewayName} to report its public address (it has never connected)`, data: { gatewayId: responder.gatewayId } });
      }
      const ticks = onlineTicks[responder.gatewayId] ?? 0;
      await condition(() => (onlineTicks[responder.gatewayId] ?? 0) !== ticks || deleteRequested, '30s');
    }
  }

  /**
   * Starts both ends' route writes. `settled` never rejects (an unhandled rejection would fail the
   * workflow task); the first error is kept for the caller.
   */
  function writeRoutes(plan: LinkPlan, claimed?: Partial<Record<SideName, ClaimedSide>>): { settled: Promise<void>; error: () => Error | undefined } {
    let error: Error | undefined;
    const settled = Promise.all([applyRoutes(plan, 'a', writers, claimed?.a?.routes), applyRoutes(plan, 'b', writers, claimed?.b?.routes)]).then(
      () => undefined,
      (err: unknown) => {
        error = err instanceof Error ? err : new Error('route writes failed');
      },
    );
    return { settled, error: () => error };
  }

  async function provision(): Promise<void> {
    const { plan, claimed } = await planWithEndpoints();
    remember(plan);
    if (deleteRequested) {
      // Writes planAndClaim already queued finish first: the teardown must know which routes
      // were there before us (and stay) before it removes the link's routes.
      if (claimed) await writeRoutes(plan, claimed).settled;
      return;
    }
    configVersion++;
    // Routes do not affect IKE: write them from the start, alongside everything else.
    const { settled: routes, error: routesError } = writeRoutes(plan, claimed);
    // Configs, and on cloud ends the instance and the security-group rule for the peer, before IKE.
    await Promise.all([
      ...(['a', 'b'] as const).map((s) =>
        onGateway(plan[s], 'push its config', (acts) => acts.pushLinkConfig({ linkId, gatewayId: plan[s].gatewayId, config: configFor(plan, s, configVersion) })),
      ),
      prepareCloudSide(plan, 'a', writers, claimed?.a),
      prepareCloudSide(plan, 'b', writers, claimed?.b),
    ]).catch(async (err: unknown) => {
      // Let the route writes settle before reporting, so their outcome is recorded too.
      await routes;
      throw err;
    });
    const tunnel = bringTunnelUp(plan, () => routesError() !== undefined);
    await Promise.all([routes, tunnel]);
    const failed = routesError();
    if (failed) throw failed;
    if (deleteRequested) return;
    applied = plan;
    await setPhase('up', undefined, 'link.up', `CHILD_SA installed on both ${plan.a.gatewayName} and ${plan.b.gatewayName}${plan.initiatorWhy ? `; ${plan.initiatorWhy}` : ''}`);
  }

  /**
   * Initiates until both ends report the CHILD_SA installed (or the link is deleted / aborted).
   * With maxAttempts it gives up after that many and returns false; restart replaces whatever SA
   * the initiator holds (after a change its old SA runs on the old addresses or selectors).
   */
  async function bringTunnelUp(plan: LinkPlan, aborted: () => boolean, o: { maxAttempts?: number; restart?: boolean } = {}): Promise<{ up: true } | { up: false; why?: string }> {
    const initiator = plan[plan.initiator];
    const responder = plan[plan.initiator === 'a' ? 'b' : 'a'];
    for (let attempt = 1; ; attempt++) {
      if (deleteRequested || aborted()) return { up: false };
      const r = await onGateway(initiator, 'initiate the tunnel', (acts) =>
        acts.initiateLink({ linkId, gatewayId: initiator.gatewayId, name: plan.name, timeoutMs: INITIATE_TIMEOUT_MS, ...(o.restart ? { restart: true } : {}) }),
      ).catch((err: unknown) => ({ established: false, error: failureMessage(err) }));
      if (r.established) {
        tunnelUp[initiator.gatewayId] = true;
        // The responder reports its CHILD_SA through the hub; ask it directly if the report is slow.
        if (!(await condition(() => tunnelUp[responder.gatewayId] === true, '3s'))) {
          const s = await onGateway(responder, 'check its tunnel', (acts) => acts.tunnelStatus({ gatewayId: responder.gatewayId, name: plan.name }));
          if (s.installed) tunnelUp[responder.gatewayId] = true;
        }
        if (tunnelUp[responder.gatewayId]) return { up: true };
      }
      const why = 'error' in r ? r.error : 'the tunnel did not come up';
      if (o.maxAttempts) {
        await store.recordEvent({ linkId, type: 'tunnel.initiate_failed', message: `attempt ${attempt} of ${o.maxAttempts}: ${why}` });
        if (attempt >= o.maxAttempts) return { up: false, why };
        await condition(() => deleteRequested || aborted(), `${attempt}s`);
        continue;
      }
      const failed = attempt >= ATTEMPTS_BEFORE_FAILED;
      await setPhase(failed ? 'failed' : 'provisioning', why, 'tunnel.initiate_failed', `attempt ${attempt}: ${why}`);
      await condition(() => deleteRequested || aborted(), failed ? '30s' : `${Math.min(2 ** attempt, 10)}s`);
    }
  }

  /**
   * Moves a running link from one plan to another, make-before-break where the network allows:
   * rules for a new peer address and new routes first, then both configs, then the tunnel is
   * re-established, and only then routes and rules the new plan no longer needs are removed.
   * Throws when a step fails for good; the caller decides whether to roll back.
   */
  async function reconfigure(from: LinkPlan, to: LinkPlan): Promise<void> {
    const change = diffPlans(from, to);
    remember(to);
    configVersion++;
    const { settled: routes, error: routesError } = writeRoutes(to);
    const sides = ['a', 'b'] as const;
    const moved = (s: 'a' | 'b') => prepareMovedInstances && to[s].cloud !== undefined && to[s].cloud?.instanceId !== from[s].cloud?.instanceId;
    await Promise.all([
      // A gateway now on another instance (EC2: its source/destination check must be off too).
      ...sides.map((s) => (moved(s) ? prepareInstance(to, s) : Promise.resolve())),
      ...sides.map((s) => (change[s].ruleAdded ? allowPeer(to, s, writers) : Promise.resolve())),
      // Both ends get the new version (an unchanged config is a no-op on the agent).
      ...sides.map((s) => onGateway(to[s], 'push its new config', (acts) => acts.pushLinkConfig({ linkId, gatewayId: to[s].gatewayId, config: configFor(to, s, configVersion) }))),
    ]).catch(async (err: unknown) => {
      await routes;
      throw err;
    });
    for (const s of sides) tunnelUp[to[s].gatewayId] = false;
    const tunnel = await bringTunnelUp(to, () => routesError() !== undefined, { maxAttempts: CHANGE_ATTEMPTS, restart: true });
    await routes;
    const failed = routesError();
    if (failed) throw failed;
    if (deleteRequested) throw new DeleteRequested();
    if (!tunnel.up) throw new ChangeFailed(`the tunnel did not come up with the new configuration: ${tunnel.why ?? 'aborted'}`);
    await Promise.all(sides.map((s) => pruneCloudSide(to, s, writers)));
  }

  /** Brings the link to what the database now says (new CIDRs, a gateway's new address). */
  async function converge(): Promise<void> {
    const target = await store.planLink(linkId);
    if (target.refused !== undefined) {
      // Whatever runs keeps running (charon holds the SAs); nothing is changed towards a plan no
      // tunnel can follow, and the next change of a gateway brings the link back here.
      refusedSince = true;
      await setPhase('failed', target.refused, 'link.unreachable', target.refused);
      return;
    }
    const wasRefused = refusedSince;
    refusedSince = false;
    if (!applied) {
      // The link never came up: provisioning again with the new plan is the whole change.
      phase = 'provisioning';
      await provision();
      return;
    }
    const from = applied;
    const change = diffPlans(from, target);
    if (change.none) {
      applied = target;
      if (phase === 'updating') await setPhase('up', undefined, 'link.unchanged', 'the requested configuration is already applied');
      else if (wasRefused && phase === 'failed') await setPhase('up', undefined, 'link.reachable', `an end can be reached again; ${target.initiatorWhy ?? 'the tunnel was left as it was'}`);
      return;
    }
    const summary = describeChange(from, target, change);
    await setPhase('updating', undefined, 'link.changing', `applying: ${summary}`);
    try {
      await reconfigure(from, target);
      applied = target;
      await setPhase('up', undefined, 'link.changed', `applied: ${summary}`);
      return;
    } catch (err) {
      if (err instanceof DeleteRequested) throw err;
      const why = failureMessage(err);
      if (!change.cidrs) {
        // An address change is a fact to follow, not a request to undo: keep trying on the next report.
        await setPhase('failed', why, 'link.change_failed', `could not follow the change (${summary}): ${why}`);
        return;
      }
      // Back to the CIDRs that last worked, keeping any address change that came with it.
      const back: LinkPlan = { ...target, a: { ...target.a, cidrs: from.a.cidrs }, b: { ...target.b, cidrs: from.b.cidrs } };
      await store.revertLinkCidrs({ linkId, a: from.a.cidrs, b: from.b.cidrs, reason: why });
      try {
        await reconfigure(target, back);
        applied = back;
        await setPhase('up', `CIDR change rolled back: ${why}`, 'link.rolled_back', `CIDR change rolled back to ${from.a.cidrs.join(', ')} ↔ ${from.b.cidrs.join(', ')}: ${why}`);
      } catch (err2) {
        if (err2 instanceof DeleteRequested) throw err2;
        await setPhase('failed', `CIDR change failed (${why}) and so did the rollback: ${failureMessage(err2)}`, 'link.failed', `rollback failed: ${failureMessage(err2)}`);
      }
    }
  }

  async function teardown(): Promise<void> {
    await setPhase('deleting', undefined, 'link.deleting', 'tearing down both ends');
    const plan = await store.planLink(linkId);
    remember(plan);
    // Routes first, so no subnet keeps sending traffic to a tunnel that is about to go.
    await Promise.all([removeCloudSide(plan, 'a', writers), removeCloudSide(plan, 'b', writers)]);
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

  // Steady state: follow what the agents report and apply changes until a delete arrives.
  const allUp = (): boolean => Object.values(tunnelUp).every(Boolean);
  let seenUp = allUp();
  while (!deleteRequested) {
    const changePending = () => changesHandled !== changesRequested;
    await condition(() => deleteRequested || changePending() || allUp() !== seenUp || workflowInfo().continueAsNewSuggested);
    if (deleteRequested) break;
    if (changePending()) {
      changesHandled = changesRequested; // requests arriving meanwhile are folded into the next pass
      try {
        await converge();
      } catch (err) {
        if (err instanceof DeleteRequested) break;
        await setPhase('failed', failureMessage(err), 'link.failed', failureMessage(err));
      }
      seenUp = allUp();
      continue;
    }
    if (allUp() === seenUp) {
      const flushing = writers.flush();
      if (flushing) await flushing;
      await continueAsNew<typeof linkWorkflow>({ linkId, carried: { phase, configVersion, tunnelUp, ...(applied ? { applied } : {}) } });
    }
    seenUp = allUp();
    if (seenUp && phase === 'degraded') await setPhase('up', undefined, 'tunnel.up', 'tunnel re-established');
    if (!seenUp && phase === 'up') await setPhase('degraded', 'an end reported its tunnel down', 'tunnel.down', 'an end reported its CHILD_SA down; strongSwan is re-establishing it');
  }
  await teardown();
}

class DeleteRequested extends Error {}
class ChangeFailed extends Error {}

/** Gateway offline, its controller gone, or the call lost in transit: retry elsewhere/later. */
function isUnreachable(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.type === 'GatewayUnreachable';
  return true; // timeouts (schedule-to-start, start-to-close) and cancellations
}

function failureMessage(err: unknown): string {
  if (err instanceof CloudStepFailed || err instanceof ChangeFailed) return err.message;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
