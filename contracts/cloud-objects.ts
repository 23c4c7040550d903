// The requests link workflows (through an activity) send to the workflows that serialise writes to
// one cloud object, a route table or a security group: their shape, their signal and the id of the
// workflow that owns the object. Shared by workflows/ and activities/, which import it, not each other.
import { defineSignal } from '@temporalio/workflow';
import type { CloudRef, PeerRule, RouteSpec } from '../cloud/types';

export interface RouteOp {
  /** Unique per intent; a repeated op with the same id is answered once. */
  requestId: string;
  op: 'create' | 'delete';
  ref: CloudRef;
  route: RouteSpec;
  clientToken: string;
  /** Workflow id to signal the result to. */
  replyTo: string;
  /** Task queue the budget queues derive from (the link workflow's). */
  baseQueue: string;
}

export interface RuleOp {
  /** Unique per intent; a repeated op with the same id is answered once. */
  requestId: string;
  op: 'allow' | 'revoke';
  ref: CloudRef;
  rule: PeerRule;
  /** Workflow id to signal the result to. */
  replyTo: string;
  /** Task queue the budget queues derive from (the link workflow's). */
  baseQueue: string;
}

export const routeOpSignal = defineSignal<[RouteOp]>('routeOp');
export const ruleOpSignal = defineSignal<[RuleOp]>('ruleOp');

export const routeTableWorkflowId = (ref: CloudRef, routeTableId: string): string => `rtb-${ref.provider}-${ref.accountId}-${ref.region}-${routeTableId}`;
export const securityGroupWorkflowId = (ref: CloudRef, securityGroupId: string): string => `sg-${ref.provider}-${ref.accountId}-${ref.region}-${securityGroupId}`;
