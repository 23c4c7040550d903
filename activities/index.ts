// All activities, built by one factory from their dependencies (samples-typescript
// activities-dependency-injection). Workflows import only the type of the result.
import { ApplicationFailure } from '@temporalio/common';
import { tagCloudEvents } from './request-tags';
import type { GatewayHub } from '../gateway-hub/hub';
import type { TunnelEchoPort } from '../gateway-hub/tunnel-echo';
import type { Logger } from '../lib/log';
import type { SecretKey } from '../lib/crypto';
import { decrypt } from '../lib/crypto';
import { asGatewayId } from '../protocol/ids';
import type { LinkConfig } from '../protocol/messages';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reconfigureSignal } from '../contracts/link-workflow';
import { FailureType, fromHubError } from './errors';
import { isFresh, type GatewayPresence, type Store } from '../store';
import { createCloudActivities, type PaceCall, type ProviderFor } from './cloud';
import { createCloudStoreActivities, type ClaimedSide, type RouteUpdate } from './cloud-store';
import { createDiscoveryActivities } from './discovery';
import { heartbeating } from './heartbeat';
import { other, peerRuleFor, routesFor, type LinkPlan, type PublicLinkConfig, type SideName } from '../contracts/link-plan';
import { buildPlan } from './plan';
import { operationAccounting, type OperationTracking } from './operations';
import type { CloudMetrics } from '../lib/metrics';

export type { LinkPlan, LinkSide, PublicLinkConfig } from '../contracts/link-plan';

export interface ActivityDeps {
  store: Store;
  /** Present only in processes that hold agent sockets. */
  hub?: GatewayHub;
  /** With the hub: keeps what initiateLink told a workflow, so the agent's report of it is not signalled again. */
  tunnelEcho?: TunnelEchoPort;
  secretKey: SecretKey;
  log: Logger;
  clock: () => Date;
  /** Task queue name of the hub instance that holds a gateway's socket. */
  hubQueue: (instance: string) => string;
  /** Presence older than this is treated as offline (its controller may have died). */
  presenceTtlMs: number;
  /** Builds a cloud provider for an account and region (credentials decrypted). */
  providerFor: ProviderFor;
  /** Temporal client, for activities that start or signal workflows. */
  temporal?: () => Client;
  /** Strict per-budget pacing of cloud calls across processes (cloud/pacer.ts). */
  paceCloudCall?: PaceCall;
  /** Prometheus families: cloud calls by outcome, and link operations at their state changes. */
  metrics?: { cloud?: CloudMetrics; operations?: OperationTracking };
}

export interface LinkEventInput {
  linkId: string;
  type: string;
  message: string;
  data?: Record<string, unknown>;
}


export function createActivities(deps: ActivityDeps) {
  const { store } = deps;

  /** Calls the agent through this process's hub, heartbeating while it waits (see heartbeat.ts). */
  const agentRpc = <T>(work: () => Promise<T>): Promise<T> => heartbeating(work());

  const hub = (): GatewayHub => {
    if (!deps.hub) throw ApplicationFailure.retryable('this worker holds no agent sockets', FailureType.gatewayUnreachable);
    return deps.hub;
  };

  /** The hub queue reaching a gateway now, if its presence is believable. */
  const where = (presence: GatewayPresence): string | undefined =>
    presence.online && presence.hubInstance && isFresh(presence.lastSeenAt, deps.clock(), deps.presenceTtlMs) ? deps.hubQueue(presence.hubInstance) : undefined;

  const recordEvent = async ({ linkId, ...event }: LinkEventInput): Promise<void> => {
    await store.links.addEvents(linkId, tagCloudEvents([event]), deps.clock());
  };

  /**
   * One end's config, with the link's PSK read and decrypted here so it never enters workflow
   * history. The agent's refusal fails as `refusedAs`.
   */
  const applyConfig = async (linkId: string, gatewayId: string, publicConfig: PublicLinkConfig, refusedAs?: typeof FailureType.configRejected): Promise<{ changed: boolean }> => {
    const pskCiphertext = await store.links.pskOf(linkId);
    if (pskCiphertext === undefined) throw ApplicationFailure.nonRetryable(`link ${linkId} not found`, FailureType.notFound);
    const config: LinkConfig = { ...publicConfig, psk: decrypt(deps.secretKey, pskCiphertext, { table: 'Link', id: linkId }) };
    // A new config may take the CHILD_SA down and up again: the reports that follow all count.
    deps.tunnelEcho?.forget(linkId, gatewayId);
    const applied = await agentRpc(() => hub().call(asGatewayId(gatewayId), 'applyLink', { link: config })).catch((err: unknown) => fromHubError(err, `config push to ${gatewayId}`, refusedAs));
    await recordEvent({ linkId, type: 'config.pushed', message: `config v${publicConfig.version} applied on gateway ${gatewayId}`, data: { gatewayId, changed: applied.changed, remote: publicConfig.remoteAddrs } });
    return applied;
  };

  const operations = operationAccounting({ store, clock: deps.clock, log: deps.log, ...(deps.metrics?.operations ? { tracking: deps.metrics.operations } : {}) });

  const cloudStore = createCloudStoreActivities({ store, clock: deps.clock, ...(deps.temporal ? { temporal: deps.temporal } : {}) });

  const planLink = async (linkId: string): Promise<LinkPlan> => {
    const link = await store.links.withEnds(linkId);
    if (!link) throw ApplicationFailure.nonRetryable(`link ${linkId} not found`, FailureType.notFound);
    return buildPlan(link, { queueOf: where });
  };

  return {
    ...createCloudActivities(deps.providerFor, deps.paceCloudCall, deps.metrics?.cloud),
    ...cloudStore,
    ...createDiscoveryActivities({ store, clock: deps.clock }),

    /** Reads what a link connects: both ends' endpoints and networks, and who initiates. */
    planLink,

    /**
     * The first step of provisioning, in one activity: the plan and, once the responder's address
     * is known (provisioning can go on), each cloud end's claims on its routes and peer rule,
     * already handed to the workflows that write them (Alibaba Cloud).
     */
    async planAndClaim(input: { linkId: string; enqueue: { replyTo: string; baseQueue: string } }): Promise<{ plan: LinkPlan; claimed?: Partial<Record<SideName, ClaimedSide>> }> {
      const plan = await planLink(input.linkId);
      if (plan.refused !== undefined || !plan[other(plan.initiator)].endpoint) return { plan };
      const claimed: Partial<Record<SideName, ClaimedSide>> = {};
      await Promise.all(
        (['a', 'b'] as const).map(async (sideName) => {
          const cloud = plan[sideName].cloud;
          if (!cloud) return;
          const rule = peerRuleFor(plan, sideName);
          claimed[sideName] = await cloudStore.claimSide({ linkId: input.linkId, gatewayId: plan[sideName].gatewayId, ref: cloud.ref, routes: routesFor(plan, sideName), ...(rule ? { rule } : {}), enqueue: input.enqueue });
        }),
      );
      return { plan, claimed };
    },

    /** Asks every live link of a gateway to re-plan (its instance, address or rules changed). */
    async replanGatewayLinks(input: { gatewayId: string }): Promise<number> {
      if (!deps.temporal) throw ApplicationFailure.nonRetryable('no Temporal client in this worker', 'Misconfigured');
      const client = deps.temporal();
      const links = await store.links.liveOf([input.gatewayId]);
      await Promise.all(
        links.map((link) =>
          client.workflow
            .getHandle(link.workflowId)
            .signal(reconfigureSignal, { reason: 'instance', gatewayId: input.gatewayId })
            // A link that finished meanwhile has nothing to re-plan.
            .catch((err: unknown) => {
              if (!(err instanceof WorkflowNotFoundError)) throw err;
            }),
        ),
      );
      return links.length;
    },

    /** Which hub instance's task queue reaches a gateway now, if any. */
    async locateGateway(gatewayId: string): Promise<{ queue?: string }> {
      const presence = await store.gateways.locate(gatewayId);
      if (!presence) throw ApplicationFailure.nonRetryable(`gateway ${gatewayId} not found`, FailureType.notFound);
      const queue = where(presence);
      return queue ? { queue } : {};
    },

    recordEvent,

    /**
     * Moves the link to a new state and records why, in one transaction with what the workflow
     * recorded since its last write: route outcomes and events (in order, before `event`). Once
     * the operator asked for a delete, only deleting and deleted are written (the events are).
     */
    async setLinkState(input: { linkId: string; state: string; reason?: string; routes?: RouteUpdate[]; events?: Array<Omit<LinkEventInput, 'linkId'>>; event?: Omit<LinkEventInput, 'linkId'> }): Promise<void> {
      const written = await operations.stateWrite({ linkId: input.linkId, state: input.state, ...(input.event ? { eventType: input.event.type } : {}) }, () =>
        store.links.setState(
          { linkId: input.linkId, state: input.state, ...(input.reason !== undefined ? { reason: input.reason } : {}), ...(input.routes ? { routes: input.routes } : {}), events: tagCloudEvents([...(input.events ?? []), ...(input.event ? [input.event] : [])]) },
          deps.clock(),
        ),
      );
      if (!written) deps.log.debug('link state kept: a delete was requested', { linkId: input.linkId, state: input.state });
    },

    /** Puts a link's CIDRs back to the ones that last worked, after a change failed for good. */
    async revertLinkCidrs(input: { linkId: string; a: string[]; b: string[]; reason: string }): Promise<void> {
      const event = { type: 'cidr.reverted', message: `CIDRs restored to ${input.a.join(', ')} ↔ ${input.b.join(', ')}: ${input.reason}`, data: { aCidrs: input.a, bCidrs: input.b } };
      await store.links.revertCidrs(input.linkId, { a: input.a, b: input.b }, event, deps.clock());
    },

    /** Marks a link deleted; its row and events stay readable, and the pair may be linked again. */
    async finishDelete(linkId: string): Promise<void> {
      await operations.deleteWrite(linkId, () => store.links.finishDelete(linkId, { type: 'link.deleted', message: 'link deleted; both ends torn down' }, deps.clock()));
    },

    // ---- agent calls: these run on the task queue of the hub instance holding the socket ----

    /** Sends one end its config; the PSK is read and decrypted here so it never enters workflow history. */
    async pushLinkConfig(input: { linkId: string; gatewayId: string; config: PublicLinkConfig }): Promise<{ changed: boolean }> {
      return applyConfig(input.linkId, input.gatewayId, input.config);
    },

    /**
     * Asks the initiating end to bring the CHILD_SA up; true once charon installed it. With
     * `config`, that end's config is applied first, in the same task: provisioning sends the
     * initiator's config with its initiate (one activity fewer per link). A config the agent
     * refuses fails as ConfigRejected, so the workflow tells it from a failed initiation.
     */
    async initiateLink(input: { linkId: string; gatewayId: string; name: string; timeoutMs: number; restart?: boolean; config?: PublicLinkConfig }): Promise<{ established: boolean }> {
      if (input.config) await applyConfig(input.linkId, input.gatewayId, input.config, FailureType.configRejected);
      const result = await agentRpc(() => hub().call(asGatewayId(input.gatewayId), 'initiate', { name: input.name, timeoutMs: input.timeoutMs, ...(input.restart ? { restart: true } : {}) }, { timeoutMs: input.timeoutMs + 5000 })).catch(
        (err: unknown) => fromHubError(err, `initiate on ${input.gatewayId}`),
      );
      // The workflow takes this end as up from this answer (workflows/link/tunnel.ts).
      if (result.established) deps.tunnelEcho?.installed(input.linkId, input.gatewayId);
      return result;
    },

    /** Whether a gateway's CHILD_SA for the link is installed, with its byte counters. */
    async tunnelStatus(input: { gatewayId: string; name: string }): Promise<{ installed: boolean; bytesIn: number; bytesOut: number }> {
      const status = await agentRpc(() => hub().call(asGatewayId(input.gatewayId), 'status', {})).catch((err: unknown) => fromHubError(err, `status of ${input.gatewayId}`));
      const child = status.sas.filter((sa) => sa.name === input.name).flatMap((sa) => sa.children).find((candidate) => candidate.name === input.name && candidate.state === 'INSTALLED');
      return { installed: !!child, bytesIn: child?.bytesIn ?? 0, bytesOut: child?.bytesOut ?? 0 };
    },

    /** Tears one end down; success when it was already gone. */
    async removeLinkFrom(input: { linkId: string; gatewayId: string; name: string }): Promise<void> {
      const removal = await agentRpc(() => hub().call(asGatewayId(input.gatewayId), 'removeLink', { name: input.name })).catch((err: unknown) => fromHubError(err, `teardown on ${input.gatewayId}`));
      await recordEvent({ linkId: input.linkId, type: 'config.removed', message: `link ${removal.removed ? 'removed from' : 'already absent on'} gateway ${input.gatewayId}`, data: { gatewayId: input.gatewayId } });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
