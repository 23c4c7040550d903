// Failure types activities raise, so workflows decide on the type, never on message text.
import { ApplicationFailure } from '@temporalio/common';
import { HubError } from '../gateway-hub/errors';

export const FailureType = {
  /** The agent is not reachable through this controller right now: re-locate, wait, retry. */
  gatewayUnreachable: 'GatewayUnreachable',
  /** The agent (or charon) refused the request: retrying the same request will not help. */
  agentRejected: 'AgentRejected',
  /** The agent refused the config sent with an initiate: the link cannot come up until it changes. */
  configRejected: 'ConfigRejected',
  /** A row the step needs is gone (e.g. the link was deleted meanwhile). */
  notFound: 'NotFound',
} as const;

/**
 * Maps a hub error to a Temporal failure the workflow can branch on. An agent's refusal is
 * `refusedAs` (AgentRejected unless the caller names a more precise type).
 */
export function fromHubError(err: unknown, what: string, refusedAs: (typeof FailureType)[keyof typeof FailureType] = FailureType.agentRejected): never {
  if (err instanceof HubError) {
    if (err.code === 'agent_error' || err.code === 'bad_response') {
      throw ApplicationFailure.nonRetryable(`${what}: ${err.message}`, refusedAs, { agentCode: err.agentCode });
    }
    throw ApplicationFailure.retryable(`${what}: ${err.message}`, FailureType.gatewayUnreachable);
  }
  throw err;
}
