// One link's workflow state and the handlers that change it (signals, the delete request, the
// status query): what every phase reads and writes, in one place.
import { continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  deleteSignal,
  gatewayOnlineSignal,
  probeSignal,
  reconfigureSignal,
  statusQuery,
  tunnelSignal,
  type LinkPhase,
  type LinkWorkflowInput,
} from '../../contracts/link-workflow';
import type { LinkPlan } from '../../contracts/link-plan';
import { cloudWriters, type CloudWriters } from '../link-cloud';
import { store } from '../bookkeeping';

export class LinkEntity {
  readonly linkId: string;
  phase: LinkPhase;
  configVersion: number;
  deleteRequested = false;
  /** Each end's last reported CHILD_SA state, by gateway id. */
  readonly tunnelUp: Record<string, boolean>;
  /** Ends whose probes through the tunnel fail, by gateway id, with the reason. */
  readonly probeFailing: Record<string, string>;
  /** What made the link degraded in this run (the event of its recovery says so). */
  degradedBy: 'tunnel' | 'probe' | undefined;
  /** Gateway the link is waiting for (status query), if any. */
  waitingFor: string | undefined;
  /** The plan that last came up: changes are diffed against it and rolled back to it. */
  applied: LinkPlan | undefined;
  /** The last re-plan found no end to connect to (see converge). */
  refused = false;
  /** How the link's cloud writes reach the cloud, and their outcomes its record. */
  readonly writers: CloudWriters;
  /** Reconnects per gateway so far: a waiting step wakes when its gateway's count moves. */
  private readonly onlineTicks: Record<string, number> = {};
  /** Where each gateway was last reached: saves a lookup per agent call. */
  private readonly knownQueues: Record<string, string> = {};
  private changesRequested = 0;
  private changesHandled = 0;

  constructor(input: LinkWorkflowInput) {
    this.linkId = input.linkId;
    this.phase = input.carried?.phase ?? 'provisioning';
    this.configVersion = input.carried?.configVersion ?? 0;
    this.tunnelUp = { ...input.carried?.tunnelUp };
    this.probeFailing = { ...input.carried?.probeFailing };
    this.applied = input.carried?.applied;
    this.writers = cloudWriters({ linkId: this.linkId });
    this.handleMessages();
  }

  private handleMessages(): void {
    setHandler(tunnelSignal, ({ gatewayId, up }) => {
      this.tunnelUp[gatewayId] = up;
    });
    setHandler(probeSignal, ({ gatewayId, failing, reason }) => {
      if (failing) this.probeFailing[gatewayId] = reason ?? 'probes through the tunnel are not answered; IKE is up';
      else delete this.probeFailing[gatewayId];
    });
    setHandler(reconfigureSignal, () => {
      this.changesRequested++;
    });
    setHandler(gatewayOnlineSignal, ({ gatewayId }) => {
      this.onlineTicks[gatewayId] = (this.onlineTicks[gatewayId] ?? 0) + 1;
      // A reconnect may bring a new public address (or the agent moved): check the plan again.
      this.changesRequested++;
    });
    setHandler(deleteSignal, () => {
      this.deleteRequested = true;
    });
    setHandler(statusQuery, () => ({ phase: this.phase, configVersion: this.configVersion, tunnelUp: { ...this.tunnelUp }, ...(this.waitingFor ? { waitingFor: this.waitingFor } : {}) }));
  }

  /** A delete arrived and the teardown has not begun: waiting steps give up. */
  get interrupted(): boolean {
    return this.deleteRequested && this.phase !== 'deleting';
  }

  reconnects(gatewayId: string): number {
    return this.onlineTicks[gatewayId] ?? 0;
  }

  /** Reconnects of either end so far. */
  allReconnects(): number {
    return Object.values(this.onlineTicks).reduce((sum, count) => sum + count, 0);
  }

  allUp(): boolean {
    return Object.values(this.tunnelUp).every(Boolean);
  }

  /** Both ends report the CHILD_SA installed and no end's probes fail. */
  healthy(): boolean {
    return this.allUp() && this.probeProblem() === undefined;
  }

  /** Why probes fail, when an end says they do. */
  probeProblem(): string | undefined {
    return Object.values(this.probeFailing)[0];
  }

  /** Changes were asked for (signals) since the last pass. */
  changePending(): boolean {
    return this.changesHandled !== this.changesRequested;
  }

  /** Takes every pending change request: requests arriving meanwhile are folded into the next pass. */
  takeChanges(): void {
    this.changesHandled = this.changesRequested;
  }

  /** Changes (or reconnects) since `mark`: a wait for the operator or a gateway can end. */
  changedSince(mark: { changes: number; reconnects: number }): boolean {
    return this.changesRequested !== mark.changes || this.allReconnects() !== mark.reconnects;
  }

  mark(): { changes: number; reconnects: number } {
    return { changes: this.changesRequested, reconnects: this.allReconnects() };
  }

  knownQueue(gatewayId: string): string | undefined {
    return this.knownQueues[gatewayId];
  }

  rememberQueue(gatewayId: string, queue: string | undefined): void {
    if (queue) this.knownQueues[gatewayId] = queue;
    else delete this.knownQueues[gatewayId];
  }

  /** Keeps where the plan found each gateway's agent. */
  rememberQueues(plan: LinkPlan): void {
    for (const side of [plan.a, plan.b]) if (side.queue) this.knownQueues[side.gatewayId] = side.queue;
  }

  /** Records the phase, with the route outcomes and events recorded since the last write, in one transaction. */
  async setPhase(next: LinkPhase, reason: string | undefined, type: string, message: string): Promise<void> {
    this.phase = next;
    await store.setLinkState({ linkId: this.linkId, state: next, reason, ...this.writers.pending(), event: { type, message } });
  }

  async recordEvent(type: string, message: string, data?: Record<string, unknown>): Promise<void> {
    await store.recordEvent({ linkId: this.linkId, type, message, ...(data ? { data } : {}) });
  }

  /** Starts a fresh run with the same state, once what it recorded is written. */
  async continueAsNew(): Promise<never> {
    const flushing = this.writers.flush();
    if (flushing) await flushing;
    return continueAsNew<(input: LinkWorkflowInput) => Promise<void>>({
      linkId: this.linkId,
      carried: {
        phase: this.phase,
        configVersion: this.configVersion,
        tunnelUp: this.tunnelUp,
        ...(this.applied ? { applied: this.applied } : {}),
        ...(Object.keys(this.probeFailing).length > 0 ? { probeFailing: this.probeFailing } : {}),
      },
    });
  }

  /** Temporal suggests a fresh run (history grows long). */
  static continueAsNewSuggested(): boolean {
    return workflowInfo().continueAsNewSuggested;
  }
}
