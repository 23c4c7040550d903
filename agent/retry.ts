// When to try the controller again: the backoff, or later when the controller said so (a 429 or
// 503 with Retry-After), never beyond the backoff's cap, so a mistaken header cannot park an agent.
import type { Backoff } from './backoff';

/** The controller asked the agent to come back later (429, 503): never final. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    message: string,
    /** From Retry-After, when the controller sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim() ?? '';
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names a weekday and a month; this keeps "1e3" or "-5" from passing as dates.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before the next attempt after `failure`: max(Retry-After, backoff), capped at maxMs. */
export function retryDelay(failure: unknown, backoff: Backoff, maxMs: number): number {
  const jittered = backoff.next();
  const asked = failure instanceof RetryLaterError ? (failure.retryAfterMs ?? 0) : 0;
  return Math.min(maxMs, Math.max(asked, jittered));
}

/** A RetryLaterError for a 429/503 answer, or undefined for any other status. */
export function retryLaterFor(status: number | undefined, retryAfter: string | string[] | undefined, what: string): RetryLaterError | undefined {
  if (status !== 429 && status !== 503) return undefined;
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const ms = parseRetryAfter(header);
  const why = status === 429 ? 'too many attempts (429)' : 'unavailable (503)';
  return new RetryLaterError(`${what}: controller answered ${why}${ms !== undefined ? `, retry after ${Math.ceil(ms / 1000)} s` : ''}`, ms);
}
