// Fake activities for the link workflow, keeping what the real ones keep (activities/index.ts): the
// link's row and events (store), and each gateway's agent with its configs and CHILD_SAs (hub).
// They answer as the real ones do: a plan per link, `GatewayUnreachable` for a gateway that is not
// online, `AgentRejected` for a config the agent's charon refuses, an event per pushed or removed
// config, and the responder's tunnel report relayed to the workflow as a signal (as the hub does).
// Every call is logged in order, as one line each, for tests to read the workflow's steps.
import { expect } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { linkWorkflowId, tunnelSignal } from '../../contracts/link-workflow';
import type { LinkPlan, PublicLinkConfig, SideName } from '../../contracts/link-plan';

interface FakeGateway {
  id: string;
  name: string;
  endpoint?: string;
  /** Holds a socket to the controller: agent calls reach it on the hub queue. */
  online: boolean;
  configs: Map<string, PublicLinkConfig>;
  installed: Set<string>;
  /** charon refuses a config (the reason), as load-conn does. */
  refuse?: (config: PublicLinkConfig) => string | undefined;
  /** charon cannot bring the CHILD_SA up with this config (a peer that drops IKE): initiate answers false. */
  initiateFails?: (config: PublicLinkConfig) => boolean;
  /** The next config push fails before the agent gets it (the activity's database read failing). */
  failNextApply?: string;
}

interface FakeLink {
  id: string;
  a: string;
  b: string;
  cidrs: Record<SideName, string[]>;
  keyVersion: number;
  state: string;
  reason: string | null;
  events: Array<{ type: string; message: string }>;
}

export class FakeLinkWorld {
  /** Every activity call, in order: `name detail…`. */
  readonly log: string[] = [];
  private readonly gateways = new Map<string, FakeGateway>();
  private readonly links = new Map<string, FakeLink>();

  constructor(private readonly o: { hubQueue: string; client: Client }) {}

  gateway(id: string, o: Partial<Omit<FakeGateway, 'id' | 'configs' | 'installed'>> = {}): FakeGateway {
    const g: FakeGateway = { id, name: o.name ?? id, online: true, configs: new Map(), installed: new Set(), ...o };
    this.gateways.set(id, g);
    return g;
  }

  link(id: string, a: string, b: string, cidrs: Record<SideName, string[]>): FakeLink {
    const link: FakeLink = { id, a, b, cidrs, keyVersion: 1, state: 'provisioning', reason: null, events: [] };
    this.links.set(id, link);
    return link;
  }

  row(id: string): FakeLink {
    const link = this.links.get(id);
    if (!link) throw new Error(`no link ${id}`);
    return link;
  }

  agent(id: string): FakeGateway {
    const g = this.gateways.get(id);
    if (!g) throw new Error(`no gateway ${id}`);
    return g;
  }

  /** The log without lookups (locateGateway), which depend on timing. */
  /** An agent applying a config: unreachable, refused by its charon, or stored (changed or not). */
  private async applyConfig(p: { linkId: string; gatewayId: string; config: PublicLinkConfig }): Promise<{ changed: boolean }> {
    const g = this.reach(p.gatewayId, 'config push');
    const failure = g.failNextApply;
    if (failure !== undefined) {
      g.failNextApply = undefined;
      throw new Error(failure);
    }
    const why = g.refuse?.(p.config);
    if (why) throw ApplicationFailure.nonRetryable(`config push to ${p.gatewayId}: loading connection '${p.config.name}' failed: ${why}`, 'AgentRejected');
    const before = g.configs.get(p.config.name);
    g.configs.set(p.config.name, p.config);
    this.record(p.linkId, 'config.pushed', `config v${p.config.version} applied on gateway ${p.gatewayId}`);
    return { changed: JSON.stringify({ ...before, version: 0 }) !== JSON.stringify({ ...p.config, version: 0 }) };
  }

  steps(): string[] {
    return this.log.filter((line) => !line.startsWith('locateGateway'));
  }

  /** What planLink answers: side a initiates (both on-prem), each end where it was last seen. */
  plan(linkId: string): LinkPlan {
    const link = this.row(linkId);
    const side = (s: SideName) => {
      const g = this.agent(link[s]);
      return { gatewayId: g.id, gatewayName: g.name, ...(g.endpoint ? { endpoint: g.endpoint } : {}), pinEndpoint: true, cidrs: link.cidrs[s], identity: `gw-${g.id}`, ...(g.online ? { queue: this.o.hubQueue } : {}) };
    };
    return { linkId, name: `link-${linkId}`, state: link.state, a: side('a'), b: side('b'), initiator: 'a', keyVersion: link.keyVersion, initiatorWhy: 'both ends can be reached: side a dials' };
  }

  private record(linkId: string, type: string, message: string): void {
    this.row(linkId).events.push({ type, message });
  }

  /** The agent behind a call on the hub queue, or the failure the hub raises when it is gone. */
  private reach(gatewayId: string, what: string): FakeGateway {
    const g = this.agent(gatewayId);
    if (!g.online) throw ApplicationFailure.retryable(`${what} on ${gatewayId}: gateway ${gatewayId} is not connected`, 'GatewayUnreachable');
    return g;
  }

  activities() {
    const log = (line: string) => this.log.push(line);
    return {
      planLink: async (linkId: string): Promise<LinkPlan> => {
        log('planLink');
        return this.plan(linkId);
      },
      planAndClaim: async (p: { linkId: string }): Promise<{ plan: LinkPlan }> => {
        log('planAndClaim');
        return { plan: this.plan(p.linkId) };
      },
      locateGateway: async (gatewayId: string): Promise<{ queue?: string }> => {
        log(`locateGateway ${gatewayId}`);
        return this.agent(gatewayId).online ? { queue: this.o.hubQueue } : {};
      },
      recordEvent: async (e: { linkId: string; type: string; message: string }): Promise<void> => {
        log(`recordEvent ${e.type}`);
        this.record(e.linkId, e.type, e.message);
      },
      setLinkState: async (p: { linkId: string; state: string; reason?: string; events?: Array<{ type: string; message: string }>; event?: { type: string; message: string } }): Promise<void> => {
        log(`setLinkState ${p.state}`);
        const link = this.row(p.linkId);
        link.state = p.state;
        link.reason = p.reason ?? null;
        for (const e of [...(p.events ?? []), ...(p.event ? [p.event] : [])]) this.record(p.linkId, e.type, e.message);
      },
      revertLinkCidrs: async (p: { linkId: string; a: string[]; b: string[]; reason: string }): Promise<void> => {
        log(`revertLinkCidrs ${p.a.join(',')} ${p.b.join(',')}`);
        this.row(p.linkId).cidrs = { a: p.a, b: p.b };
        this.record(p.linkId, 'cidr.reverted', `CIDRs restored: ${p.reason}`);
      },
      finishDelete: async (linkId: string): Promise<void> => {
        log('finishDelete');
        const link = this.row(linkId);
        link.state = 'deleted';
        this.record(linkId, 'link.deleted', 'link deleted; both ends torn down');
      },
      markRoutes: async (p: { linkId: string; events?: Array<{ type: string; message: string }>; event?: { type: string; message: string } }): Promise<void> => {
        log('markRoutes');
        for (const e of [...(p.events ?? []), ...(p.event ? [p.event] : [])]) this.record(p.linkId, e.type, e.message);
      },
      pushLinkConfig: async (p: { linkId: string; gatewayId: string; config: PublicLinkConfig }): Promise<{ changed: boolean }> => {
        log(`pushLinkConfig ${p.gatewayId} v${p.config.version} ${p.config.localTs.join(',')}>${p.config.remoteTs.join(',')}`);
        return this.applyConfig(p);
      },
      initiateLink: async (p: { linkId: string; gatewayId: string; name: string; restart?: boolean; config?: PublicLinkConfig }): Promise<{ established: boolean }> => {
        log(`initiateLink ${p.gatewayId}${p.restart ? ' restart' : ''}${p.config ? ` with v${p.config.version} ${p.config.localTs.join(',')}>${p.config.remoteTs.join(',')}` : ''}`);
        // As the activity does: the config first, and a refusal of it told apart from a failed initiate.
        if (p.config) {
          await this.applyConfig({ linkId: p.linkId, gatewayId: p.gatewayId, config: p.config }).catch((err: unknown) => {
            if (err instanceof ApplicationFailure && err.type === 'AgentRejected') throw ApplicationFailure.nonRetryable(err.message, 'ConfigRejected');
            throw err;
          });
        }
        const g = this.reach(p.gatewayId, 'initiate');
        const mine = g.configs.get(p.name);
        const peer = [...this.gateways.values()].find((other) => other !== g && other.configs.has(p.name));
        const theirs = peer?.configs.get(p.name);
        // IKE: the peer must be there, with a mirror-image config (identities and selectors).
        if (!mine || !theirs || !peer?.online || g.initiateFails?.(mine)) return { established: false };
        const mirrors = mine.remoteId === theirs.localId && theirs.remoteId === mine.localId && same(mine.remoteTs, theirs.localTs) && same(theirs.remoteTs, mine.localTs);
        if (!mirrors) return { established: false };
        g.installed.add(p.name);
        peer.installed.add(p.name);
        // The responder's agent reports its CHILD_SA; the hub signals the link workflow.
        await this.o.client.workflow.getHandle(linkWorkflowId(p.linkId)).signal(tunnelSignal, { gatewayId: peer.id, up: true });
        return { established: true };
      },
      tunnelStatus: async (p: { gatewayId: string; name: string }): Promise<{ installed: boolean; bytesIn: number; bytesOut: number }> => {
        log(`tunnelStatus ${p.gatewayId}`);
        return { installed: this.reach(p.gatewayId, 'status').installed.has(p.name), bytesIn: 0, bytesOut: 0 };
      },
      removeLinkFrom: async (p: { linkId: string; gatewayId: string; name: string }): Promise<void> => {
        log(`removeLinkFrom ${p.gatewayId}`);
        const g = this.reach(p.gatewayId, 'teardown');
        const removed = g.configs.delete(p.name);
        g.installed.delete(p.name);
        this.record(p.linkId, 'config.removed', `link ${removed ? 'removed from' : 'already absent on'} gateway ${p.gatewayId}`);
      },
    };
  }
}

function same(x: string[], y: string[]): boolean {
  return JSON.stringify([...x].sort()) === JSON.stringify([...y].sort());
}

/**
 * `log` cut into windows the sizes of `groups` (anything left over as one more window), each window
 * put in its group's order when it holds the same calls: calls the workflow starts together finish
 * in any order. `expectSteps(log, groups)` asserts exactly those steps.
 */
export function windows(log: string[], groups: string[][]): string[][] {
  const out: string[][] = [];
  let at = 0;
  for (const group of groups) {
    const slice = log.slice(at, at + group.length);
    at += group.length;
    const sameCalls = JSON.stringify([...slice].sort()) === JSON.stringify([...group].sort());
    out.push(sameCalls ? [...group] : slice);
  }
  if (at < log.length) out.push(log.slice(at));
  return out;
}

/** Asserts that `log` is exactly the steps `groups`, in order (calls within a group in any order). */
export function expectSteps(log: string[], groups: string[][]): void {
  expect(windows(log, groups)).toEqual(groups);
}
