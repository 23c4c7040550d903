// Cloud changes a link's workflow records carry the request id they run for (its header, see
// controller/request-interceptors.ts), so their audit records name the API call behind them.
import { currentRequestId } from '../lib/request-context';
import { CLOUD_EVENT } from '../store/events';

type EventLike = { type: string; message: string; data?: Record<string, unknown> };

export function tagCloudEvents<E extends EventLike>(events: E[]): E[] {
  const requestId = currentRequestId();
  if (requestId === undefined) return events;
  return events.map((event) => (event.type.startsWith(CLOUD_EVENT) ? { ...event, data: { ...event.data, requestId } } : event));
}
