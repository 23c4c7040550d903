// Failures that end the agent (exit code 3): retrying with the same credentials cannot help, and
// hammering the controller would only trip its rate limit for the agent's whole network.

/** The controller refused the agent's credentials (401 on the WebSocket upgrade). */
export class AuthRejectedError extends Error {
  override name = 'AuthRejectedError';
}

/** The controller refused the enrolment token (401 on POST /agent/enrol). */
export class EnrolmentRejectedError extends AuthRejectedError {
  override name = 'EnrolmentRejectedError';
}
