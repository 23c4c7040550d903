// Why an agent call did not produce a result. Activities map these to retry decisions.
export type HubErrorCode =
  /** The gateway has no socket on this controller instance (it may be on another, or offline). */
  | 'not_connected'
  /** No response within the hub's timeout. */
  | 'timeout'
  /** The socket closed (or was replaced) while the request was pending. */
  | 'disconnected'
  /** The agent answered with an error. */
  | 'agent_error'
  /** The agent's result did not match the protocol. */
  | 'bad_response'
  | 'shutting_down';

export class HubError extends Error {
  override name = 'HubError';
  constructor(
    readonly code: HubErrorCode,
    message: string,
    /** For agent_error: the agent's own error code. */
    readonly agentCode?: string,
  ) {
    super(message);
  }
}
