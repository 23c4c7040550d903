// Failed authentications per source (see source.ts): after `failures` of them within a window the
// source is answered 429 until the window ends, before any database lookup, so guessing agent
// secrets or enrolment tokens costs the guesser time and the controller nothing.
import { RateLimiterMemory } from 'rate-limiter-flexible';

export interface AuthLimiterOptions {
  /** Failures a source may have per window before it is refused. */
  failures: number;
  windowMs: number;
}

export class AuthFailureLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly o: AuthLimiterOptions) {
    // A window starts at a source's first failure; its record expires with the window (unref'd timer).
    this.limiter = new RateLimiterMemory({ points: o.failures, duration: o.windowMs / 1000 });
  }

  /** Milliseconds until `source` may try again; 0 when it may try now. */
  async blockedFor(source: string): Promise<number> {
    const record = await this.limiter.get(source);
    return record && record.consumedPoints >= this.o.failures ? Math.max(1, record.msBeforeNext) : 0;
  }

  /** Counts one failure of `source` (synchronously: the next check already sees it). */
  failed(source: string): void {
    void this.limiter.penalty(source);
  }
}

/** Retry-After (delay-seconds) for a wait in milliseconds: at least one second. */
export const retryAfterSeconds = (waitMs: number): string => String(Math.max(1, Math.ceil(waitMs / 1000)));
