// How a link's phases end early: a delete that interrupts a step, a change that did not take, and
// the words an operator sees for any failure.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { CloudStepFailed } from '../link-cloud';

/** Thrown out of a waiting step when a delete arrives: the workflow goes straight to teardown. */
export class DeleteRequested extends Error {}

/** A change whose tunnel did not come up with the new configuration. */
export class ChangeFailed extends Error {}

/** Gateway offline, its controller gone, or the call lost in transit: retry elsewhere/later. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.type === 'GatewayUnreachable';
  return true; // timeouts (schedule-to-start, start-to-close) and cancellations
}

/** The initiator's config, sent with its initiate, was refused (or the link is gone): retrying will not help. */
export function isConfigRefusal(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && (err.cause.type === 'ConfigRejected' || err.cause.type === 'NotFound');
}

export function failureMessage(err: unknown): string {
  if (err instanceof CloudStepFailed || err instanceof ChangeFailed) return err.message;
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
