// Names and payloads of everything the outside world sends to a link workflow. Imported by the
// workflow itself and by the API/hub clients, so the two sides cannot drift.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LinkPlan } from './link-plan';

export const linkWorkflowId = (linkId: string): string => `link-${linkId}`;

export interface LinkWorkflowInput {
  linkId: string;
  /** Carried across continue-as-new. */
  carried?: CarriedState;
}

export interface CarriedState {
  configVersion: number;
  phase: LinkPhase;
  tunnelUp: Record<string, boolean>;
  /** The plan last applied successfully: what a change is diffed against and rolled back to. */
  applied?: LinkPlan;
  /** Ends whose probes through the tunnel fail, with why (see probeSignal). */
  probeFailing?: Record<string, string>;
}

export type LinkPhase = 'provisioning' | 'up' | 'degraded' | 'updating' | 'failed' | 'deleting' | 'deleted';

/** An agent reported one end of the link going up or down. */
export const tunnelSignal = defineSignal<[{ gatewayId: string; up: boolean; reason?: string }]>('tunnel');
/**
 * An end's probes through the tunnel stopped being answered for several report intervals while
 * its CHILD_SA is installed (failing, with the reason to show), or are answered again.
 */
export const probeSignal = defineSignal<[{ gatewayId: string; failing: boolean; reason?: string }]>('probe');
/** A gateway of this link (re)connected to a controller: a waiting step can retry now. */
export const gatewayOnlineSignal = defineSignal<[{ gatewayId: string }]>('gatewayOnline');
/**
 * What the link should be changed in the database (its CIDRs, or a gateway's public address):
 * re-plan and converge, rolling an operator's CIDR change back if it cannot be applied.
 */
export const reconfigureSignal = defineSignal<[{ reason: 'cidrs' | 'endpoint' | 'instance' | 'key'; gatewayId?: string }]>('reconfigure');
/**
 * Tear the link down. The API records the intent (state `deleting`) in the database first and then
 * sends this; a repeat is harmless, so a sweep may send it again until the workflow has it.
 */
export const deleteSignal = defineSignal('delete');

export interface LinkStatus {
  phase: LinkPhase;
  configVersion: number;
  tunnelUp: Record<string, boolean>;
  waitingFor?: string;
}
export const statusQuery = defineQuery<LinkStatus>('status');
