// Per-API flow control like Alibaba's (each API has its own per-second/per-minute budget per
// account), plus the call log tests use to prove a caller stayed inside its budget.

export interface RateLimit {
  perSecond?: number;
  perMinute?: number;
}

export interface Limits {
  /** Applies to every API separately (each API has its own counter). */
  default?: RateLimit;
  perApi?: Record<string, RateLimit>;
}

export interface CallRecord {
  api: string;
  /** Arrival time (ms since epoch). */
  at: number;
  ok: boolean;
  status: number;
  code?: string;
}

/** Sliding-window limiter over accepted calls; rejected calls do not consume budget. */
export class RateLimiter {
  private readonly accepted = new Map<string, number[]>();

  constructor(private limits: Limits = {}) {}

  setLimits(limits: Limits): void {
    this.limits = limits;
  }

  reset(): void {
    this.accepted.clear();
  }

  private limitOf(api: string): RateLimit | undefined {
    return this.limits.perApi?.[api] ?? this.limits.default;
  }

  /** Admits the call (recording it) or returns how long until the window frees, in ms. */
  admit(api: string, now: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const limit = this.limitOf(api);
    if (!limit || (limit.perSecond === undefined && limit.perMinute === undefined)) return { ok: true };
    const times = (this.accepted.get(api) ?? []).filter((t) => now - t < 60_000);
    this.accepted.set(api, times);
    const waits: number[] = [];
    for (const [max, windowMs] of [
      [limit.perSecond, 1000],
      [limit.perMinute, 60_000],
    ] as const) {
      if (max === undefined) continue;
      const inWindow = times.filter((t) => now - t < windowMs);
      if (inWindow.length >= max) waits.push(inWindow[inWindow.length - max]! + windowMs - now);
    }
    if (waits.length > 0) return { ok: false, retryAfterMs: Math.max(1, ...waits) };
    times.push(now);
    return { ok: true };
  }
}

/** The largest number of calls to `api` that arrived within any `windowMs` window. */
export function maxRate(calls: readonly CallRecord[], api: string, windowMs: number): number {
  const times = calls.filter((c) => c.api === api).map((c) => c.at).sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}
