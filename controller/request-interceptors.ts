// Temporal interceptors that carry the current request id (lib/request-context.ts) across
// processes: the client puts it on the header (and memo) of every workflow it starts or signals,
// and an activity runs with the id its workflow put on the header, so its log lines and the
// audit records it writes name the API call behind it. Without a request id nothing is added.
import path from 'node:path';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { REQUEST_ID_HEADER, currentRequestId, withRequestId } from '../lib/request-context';

function stamped(headers: Headers): Headers {
  const requestId = currentRequestId();
  return requestId === undefined ? headers : { ...headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(requestId) };
}

/** On the controller's Temporal client: starts and signals carry the request id. */
export const requestIdClientInterceptor: WorkflowClientInterceptor = {
  start: (input, next) => {
    const requestId = currentRequestId();
    const options = requestId === undefined ? input.options : { ...input.options, memo: { ...input.options.memo, requestId } };
    return next({ ...input, options, headers: stamped(input.headers) });
  },
  signal: (input, next) => next({ ...input, headers: stamped(input.headers) }),
  signalWithStart: (input, next) => next({ ...input, headers: stamped(input.headers) }),
};

/** On the controller's workers: an activity runs with its header's request id, which its log lines carry. */
export const requestIdActivityInterceptor: ActivityInterceptorsFactory = () => {
  let requestId: string | undefined;
  return {
    inbound: {
      execute: (input, next) => {
        const payload = input.headers[REQUEST_ID_HEADER];
        const value: unknown = payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
        requestId = typeof value === 'string' ? value : undefined;
        return requestId === undefined ? next(input) : withRequestId(requestId, () => next(input));
      },
    },
    outbound: {
      getLogAttributes: (input, next) => next(requestId === undefined ? input : { ...input, requestId }),
    },
  };
};

/** For the workflow bundle's `workflowInterceptorModules`. */
export function workflowInterceptorsPath(): string {
  return path.resolve(__dirname, '..', 'workflows', 'interceptors.ts');
}
