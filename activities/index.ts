// All activities, built by one factory from their dependencies (samples-typescript
// activities-dependency-injection). Workflows import only the type of the result.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db';
import type { GatewayHub } from '../gateway-hub/hub';
import type { Logger } from '../lib/log';
import type { SecretKey } from '../lib/crypto';
import { decrypt } from '../lib/crypto';
import { asGatewayId } from '../protocol/ids';
import type { LinkConfig } from '../protocol/messages';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reconfigureSignal } from '../contracts/link-workflow';
import { FailureType, fromHubError } from './errors';
import { isFresh, liveLinksOf } from './store-helpers';
import { createCloudActivities, type PaceCall, type ProviderFor } from './cloud';
import { createCloudStoreActivities, linkEventWrites, routeUpdates, type ClaimedSide, type RouteUpdate } from './cloud-store';
import { createDiscoveryActivities } from './discovery';
import { heartbeating } from './heartbeat';
import { other, peerRuleFor, routesFor, type LinkPlan, type PublicLinkConfig, type SideName } from '../contracts/link-plan';
import { buildPlan } from './plan';

export type { LinkPlan, LinkSide, PublicLinkConfig } from '../contracts/link-plan';

export interface ActivityDeps {
  db: Db;
  /** Present only in processes that hold agent sockets. */
  hub?: GatewayHub;
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
}

export interface LinkEventInput {
  linkId: string;
  type: string;
  message: string;
  data?: Record<string, unknown>;
}


export function createActivities(deps: ActivityDeps) {
  const { db } = deps;

  /** Calls the agent through this process's hub, heartbeating while it waits (see heartbeat.ts). */
  const agentRpc = <T>(work: () => Promise<T>): Promise<T> => heartbeating(work());

  const hub = (): GatewayHub => {
    if (!deps.hub) throw ApplicationFailure.retryable('this worker holds no agent sockets', FailureType.gatewayUnreachable);
    return deps.hub;
  };

  const queueOf = (g: Parameters<typeof where>[0]): { queue?: string } => {
    const queue = where(g);
    return queue ? { queue } : {};
  };

  /** The hub queue reaching a gateway now, if its presence is believable. */
  const where = (g: { online: boolean; hubInstance: string | null; lastSeenAt: Date | null }): string | undefined =>
    g.online && g.hubInstance && isFresh(g.lastSeenAt, deps.clock(), deps.presenceTtlMs) ? deps.hubQueue(g.hubInstance) : undefined;

  const recordEvent = async (e: LinkEventInput): Promise<void> => {
    await db.linkEvent.create({ data: { linkId: e.linkId, type: e.type, message: e.message, data: e.data ? JSON.stringify(e.data) : null, at: deps.clock() } });
  };

  const cloudStore = createCloudStoreActivities({ db, ...(deps.temporal ? { temporal: deps.temporal } : {}) });

  const planLink = async (linkId: string): Promise<LinkPlan> => {
    const link = await db.link.findUnique({ where: { id: linkId }, include: { a: true, b: true } });
    if (!link) throw ApplicationFailure.nonRetryable(`link ${linkId} not found`, FailureType.notFound);
    return buildPlan(link, { queueOf: where });
  };

  return {
    ...createCloudActivities(deps.providerFor, deps.paceCloudCall),
    ...cloudStore,
    ...createDiscoveryActivities({ db, clock: deps.clock }),

    /** Reads what a link connects: both ends' endpoints and networks, and who initiates. */
    planLink,

    /**
     * The first step of provisioning, in one activity: the plan and, once the responder's address
     * is known (provisioning can go on), each cloud end's claims on its routes and peer rule,
     * already handed to the workflows that write them (Alibaba Cloud).
     */
    async planAndClaim(p: { linkId: string; enqueue: { replyTo: string; baseQueue: string } }): Promise<{ plan: LinkPlan; claimed?: Partial<Record<SideName, ClaimedSide>> }> {
      const plan = await planLink(p.linkId);
      if (plan.refused !== undefined || !plan[other(plan.initiator)].endpoint) return { plan };
      const claimed: Partial<Record<SideName, ClaimedSide>> = {};
      await Promise.all(
        (['a', 'b'] as const).map(async (s) => {
          const cloud = plan[s].cloud;
          if (!cloud) return;
          const rule = peerRuleFor(plan, s);
          claimed[s] = await cloudStore.claimSide({ linkId: p.linkId, gatewayId: plan[s].gatewayId, ref: cloud.ref, routes: routesFor(plan, s), ...(rule ? { rule } : {}), enqueue: p.enqueue });
        }),
      );
      return { plan, claimed };
    },

    /** Asks every live link of a gateway to re-plan (its instance, address or rules changed). */
    async replanGatewayLinks(p: { gatewayId: string }): Promise<number> {
      if (!deps.temporal) throw ApplicationFailure.nonRetryable('no Temporal client in this worker', 'Misconfigured');
      const client = deps.temporal();
      const links = await liveLinksOf(db, [p.gatewayId]);
      await Promise.all(
        links.map((l) =>
          client.workflow
            .getHandle(l.workflowId)
            .signal(reconfigureSignal, { reason: 'instance', gatewayId: p.gatewayId })
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
      const g = await db.gateway.findUnique({ where: { id: gatewayId } });
      if (!g) throw ApplicationFailure.nonRetryable(`gateway ${gatewayId} not found`, FailureType.notFound);
      return queueOf(g);
    },

    recordEvent,

    /**
     * Moves the link to a new state and records why, in one transaction with what the workflow
     * recorded since its last write: route outcomes and events (in order, before `event`).
     */
    async setLinkState(p: { linkId: string; state: string; reason?: string; routes?: RouteUpdate[]; events?: Array<Omit<LinkEventInput, 'linkId'>>; event?: Omit<LinkEventInput, 'linkId'> }): Promise<void> {
      await db.$transaction([
        ...routeUpdates(db, p.routes ?? []),
        db.link.update({ where: { id: p.linkId }, data: { state: p.state, stateReason: p.reason ?? null } }),
        ...linkEventWrites(db, p.linkId, [...(p.events ?? []), ...(p.event ? [p.event] : [])], deps.clock()),
      ]);
    },

    /** Puts a link's CIDRs back to the ones that last worked, after a change failed for good. */
    async revertLinkCidrs(p: { linkId: string; a: string[]; b: string[]; reason: string }): Promise<void> {
      await db.$transaction([
        db.link.update({ where: { id: p.linkId }, data: { aCidrs: JSON.stringify(p.a), bCidrs: JSON.stringify(p.b) } }),
        db.linkEvent.create({ data: { linkId: p.linkId, type: 'cidr.reverted', message: `CIDRs restored to ${p.a.join(', ')} ↔ ${p.b.join(', ')}: ${p.reason}`, data: JSON.stringify({ aCidrs: p.a, bCidrs: p.b }), at: deps.clock() } }),
      ]);
    },

    /** Marks a link deleted; its row and events stay readable, and the pair may be linked again. */
    async finishDelete(linkId: string): Promise<void> {
      const at = deps.clock();
      await db.$transaction([
        db.link.update({ where: { id: linkId }, data: { state: 'deleted', stateReason: null, activePairKey: null, deletedAt: at, aTunnelUp: false, bTunnelUp: false } }),
        db.linkEvent.create({ data: { linkId, type: 'link.deleted', message: 'link deleted; both ends torn down', at } }),
      ]);
    },

    // ---- agent calls: these run on the task queue of the hub instance holding the socket ----

    /** Sends one end its config; the PSK is read and decrypted here so it never enters workflow history. */
    async pushLinkConfig(p: { linkId: string; gatewayId: string; config: PublicLinkConfig }): Promise<{ changed: boolean }> {
      const link = await db.link.findUnique({ where: { id: p.linkId }, select: { pskCiphertext: true } });
      if (!link) throw ApplicationFailure.nonRetryable(`link ${p.linkId} not found`, FailureType.notFound);
      const config: LinkConfig = { ...p.config, psk: decrypt(deps.secretKey, link.pskCiphertext, { table: 'Link', id: p.linkId }) };
      const r = await agentRpc(() => hub().call(asGatewayId(p.gatewayId), 'applyLink', { link: config })).catch((e: unknown) => fromHubError(e, `config push to ${p.gatewayId}`));
      await recordEvent({ linkId: p.linkId, type: 'config.pushed', message: `config v${p.config.version} applied on gateway ${p.gatewayId}`, data: { gatewayId: p.gatewayId, changed: r.changed, remote: p.config.remoteAddrs } });
      return r;
    },

    /** Asks the initiating end to bring the CHILD_SA up; true once charon installed it. */
    async initiateLink(p: { linkId: string; gatewayId: string; name: string; timeoutMs: number; restart?: boolean }): Promise<{ established: boolean }> {
      return agentRpc(() => hub().call(asGatewayId(p.gatewayId), 'initiate', { name: p.name, timeoutMs: p.timeoutMs, ...(p.restart ? { restart: true } : {}) }, { timeoutMs: p.timeoutMs + 5000 }))
        .catch((e: unknown) => fromHubError(e, `initiate on ${p.gatewayId}`));
    },

    /** Whether a gateway's CHILD_SA for the link is installed, with its byte counters. */
    async tunnelStatus(p: { gatewayId: string; name: string }): Promise<{ installed: boolean; bytesIn: number; bytesOut: number }> {
      const s = await agentRpc(() => hub().call(asGatewayId(p.gatewayId), 'status', {})).catch((e: unknown) => fromHubError(e, `status of ${p.gatewayId}`));
      const child = s.sas.filter((sa) => sa.name === p.name).flatMap((sa) => sa.children).find((c) => c.name === p.name && c.state === 'INSTALLED');
      return { installed: !!child, bytesIn: child?.bytesIn ?? 0, bytesOut: child?.bytesOut ?? 0 };
    },

    /** Tears one end down; success when it was already gone. */
    async removeLinkFrom(p: { linkId: string; gatewayId: string; name: string }): Promise<void> {
      const r = await agentRpc(() => hub().call(asGatewayId(p.gatewayId), 'removeLink', { name: p.name })).catch((e: unknown) => fromHubError(e, `teardown on ${p.gatewayId}`));
      await recordEvent({ linkId: p.linkId, type: 'config.removed', message: `link ${r.removed ? 'removed from' : 'already absent on'} gateway ${p.gatewayId}`, data: { gatewayId: p.gatewayId } });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
