// Discovery is several read calls in one activity. Retrying the whole activity when one of them
// is throttled starts the reads over: at 30 % throttling four reads all pass with probability
// 0.7^4 ≈ 0.24, so a fleet's discovery crawled for minutes. A throttled (or busy) read is retried
// in place instead, briefly, with jitter; what still fails goes to the activity's own retry.
// Only for reads: a rejected call does not count against the provider's quota, and a read retried
// changes nothing. A server that asks for a long pause (Retry-After beyond a couple of seconds)
// gets it from the activity's retry policy, not from a sleeping activity.
import { CloudError } from './types';

export async function retryRead<T>(fn: () => Promise<T>, options: { attempts?: number; baseMs?: number; maxWaitMs?: number; sleep?: (ms: number) => Promise<void> } = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof CloudError) || (err.kind !== 'throttled' && err.kind !== 'busy') || i >= attempts) throw err;
      const base = err.retryAfterMs ?? (options.baseMs ?? 200) * 2 ** (i - 1);
      if (base > maxWaitMs) throw err;
      await sleep(Math.round(base * (0.75 + Math.random() * 0.5)));
    }
  }
}
