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

/**
 * The signals that carry a serialising workflow's answers back to its requesters (link workflows
 * listen on them). The workflow hands a batch's answers to one local activity, deliverResults,
 * which signals each requester.
 */
export const RESULT_SIGNALS = ['routeResult', 'ruleResult'] as const;
export type ResultSignalName = (typeof RESULT_SIGNALS)[number];

/** One answer on its way: the requester's workflow id and what it is told. */
export interface Reply<Result extends { requestId: string } = { requestId: string }> {
  replyTo: string;
  result: Result;
}

export const routeOpSignal = defineSignal<[RouteOp]>('routeOp');
export const ruleOpSignal = defineSignal<[RuleOp]>('ruleOp');

export const routeTableWorkflowId = (ref: CloudRef, routeTableId: string): string => `rtb-${ref.provider}-${ref.accountId}-${ref.region}-${routeTableId}`;
export const securityGroupWorkflowId = (ref: CloudRef, securityGroupId: string): string => `sg-${ref.provider}-${ref.accountId}-${ref.region}-${securityGroupId}`;
