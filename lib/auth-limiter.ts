// Failed authentications per source (lib/net.ts limitKey): after `failures` of them within a window
// the source is answered 429 until the window ends, before any lookup, so guessing API tokens,
// agent secrets or enrolment tokens costs the guesser time and the controller nothing. Both
// listeners use it.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface AuthLimiterOptions {
  /** Failures a source may have per window before it is refused. */
  failures: number;
  windowMs: number;
}

export class AuthFailureLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly options: AuthLimiterOptions) {
    // A window starts at a source's first failure; its record expires with the window (unref'd timer).
    this.limiter = new RateLimiterMemory({ points: options.failures, duration: options.windowMs / 1000 });
  }

  /** Milliseconds until `source` may try again; 0 when it may try now. */
  async blockedFor(source: string): Promise<number> {
    const record = await this.limiter.get(source);
    return record && record.consumedPoints >= this.options.failures ? Math.max(1, record.msBeforeNext) : 0;
  }

  /** Counts one failure of `source` (synchronously: the next check already sees it). */
  failed(source: string): void {
    void this.limiter.penalty(source);
  }

  /**
   * Counts one failure and says where the source stands after it: its failures in the window, and
   * how long it is blocked when that reaches the limit. Counted before the caller answers, so
   * parallel guesses cannot all get an answer.
   */
  async fail(source: string): Promise<{ count: number; blockedForMs: number }> {
    const after = await this.limiter.consume(source).catch((err: unknown) => {
      if (err instanceof RateLimiterRes) return err;
      throw err;
    });
    return { count: after.consumedPoints, blockedForMs: after.consumedPoints >= this.options.failures ? Math.max(1, after.msBeforeNext) : 0 };
  }
}

/** Retry-After (delay-seconds) for a wait in milliseconds: at least one second. */
export const retryAfterSeconds = (waitMs: number): string => String(Math.max(1, Math.ceil(waitMs / 1000)));
