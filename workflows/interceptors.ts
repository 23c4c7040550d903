// Carries the request id of the API call behind a link's current operation: it arrives as a
// header on the workflow's start or on the signal that begins an operation, is kept in the memo
// (the last API call's, visible in the Temporal UI), put on every activity's header (their logs
// and the audit records of cloud changes name it) and on the workflow's own log lines.
import { defaultPayloadConverter, upsertMemo, workflowInfo, type Headers, type WorkflowInterceptors } from '@temporalio/workflow';
import { OPERATION_SIGNALS, REQUEST_ID_HEADER } from '../contracts/request-id';

/** Module state is per workflow run: the SDK gives every run its own copy of the bundle's globals. */
let requestId: string | undefined;

/**
 * Only a link's workflow has operations of its own: a route table's or security group's serves
 * many links, and whichever request happened to start it says nothing about its later calls.
 */
function followsRequests(): boolean {
  return workflowInfo().workflowType === 'linkWorkflow';
}

function headerValue(headers: Headers): string | undefined {
  const payload = headers[REQUEST_ID_HEADER];
  if (!payload) return undefined;
  const value: unknown = defaultPayloadConverter.fromPayload(payload);
  return typeof value === 'string' ? value : undefined;
}

/**
 * A new operation: its activities carry its id (none when the controller acts on its own, e.g. a
 * gateway reconnected). The memo names the last API call only: clearing it at every reconnect
 * would cost a history event each time and lose the call an operator looks for.
 */
function follow(next: string | undefined): void {
  if (next === requestId) return;
  requestId = next;
  if (next !== undefined) upsertMemo({ requestId: next });
}

function withHeader(headers: Headers): Headers {
  return requestId === undefined ? headers : { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) };
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [
    {
      execute: (input, next) => {
        if (followsRequests()) requestId = headerValue(input.headers);
        return next(input);
      },
      handleSignal: (input, next) => {
        // Tunnel and probe reports do not begin an operation and keep the current id.
        if (followsRequests() && OPERATION_SIGNALS.has(input.signalName)) follow(headerValue(input.headers));
        return next(input);
      },
    },
  ],
  outbound: [
    {
      scheduleActivity: (input, next) => next({ ...input, headers: withHeader(input.headers) }),
      scheduleLocalActivity: (input, next) => next({ ...input, headers: withHeader(input.headers) }),
      continueAsNew: (input, next) => next({ ...input, headers: withHeader(input.headers) }),
      getLogAttributes: (input, next) => next(requestId === undefined ? input : { ...input, requestId }),
    },
  ],
});
