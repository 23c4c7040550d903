// The Temporal header that carries an API request's id from the client into the workflows it
// starts or signals, and from a workflow into its activities (see lib/request-context.ts).
export const REQUEST_ID_HEADER = 'ipsec-mesh-request-id';

/** Signals that begin an operation of a link: one without a request id is the controller's own. */
export const OPERATION_SIGNALS: ReadonlySet<string> = new Set(['reconfigure', 'delete', 'gatewayOnline']);
