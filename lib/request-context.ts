// The id of the API request (or controller operation) the current code runs for, carried through
// async calls: the API sets it per request, Temporal headers carry it into workflows and their
// activities, and logs and audit records pick it up from here (one id finds one operation).
import { AsyncLocalStorage } from 'node:async_hooks';

export { REQUEST_ID_HEADER } from '../contracts/request-id';

const current = new AsyncLocalStorage<string>();

/** Runs `work` with `requestId` as the current request id (for everything it awaits). */
export function withRequestId<T>(requestId: string, work: () => T): T {
  return current.run(requestId, work);
}

/** The request id the calling code runs for, if any. */
export function currentRequestId(): string | undefined {
  return current.getStore();
}
