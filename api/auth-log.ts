// Failed API logins, logged sampled: a guessing run must not flood the log (or let an attacker
// bury other lines), yet the operator sees who tried, and how often, in a few lines per address.
import type { Logger } from '../lib/log';

interface Window {
  since: number;
  failed: number;
  refused: number;
}

/** Beyond this many addresses in one window, the rest share one summary line. */
const MAX_TRACKED = 10_000;
const OTHERS = '(other addresses)';

export class AuthFailureLog {
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A wrong or missing token; `blockedForMs` when this failure used up the address's allowance. */
  failed(address: string, reason: 'missing token' | 'wrong token', blockedForMs?: number): void {
    const entry = this.track(address);
    entry.failed++;
    if (entry.failed === 1) {
      this.log.warn('API authentication failed', { address, reason, note: 'further failures from this address are summarised once per window' });
    }
    if (blockedForMs !== undefined) {
      this.log.warn('API authentication: too many failures, address blocked', { address, failed: entry.failed, retryAfterSeconds: Math.ceil(blockedForMs / 1000) });
    }
  }

  /** A request refused with 429 while its address is blocked. */
  refused(address: string): void {
    this.track(address).refused++;
  }

  private track(address: string): Window {
    const key = this.windows.has(address) || this.windows.size < MAX_TRACKED ? address : OTHERS;
    let entry = this.windows.get(key);
    if (!entry) {
      entry = { since: this.now(), failed: 0, refused: 0 };
      this.windows.set(key, entry);
      // The timer runs only while there is something to summarise; it never keeps the process up.
      this.timer ??= setInterval(() => this.flush(), Math.max(250, Math.floor(this.windowMs / 2))).unref();
    }
    return entry;
  }

  /** One summary per address whose window has passed, when there was more than its first line. */
  private flush(): void {
    const now = this.now();
    for (const [address, entry] of this.windows) {
      if (now - entry.since < this.windowMs) continue;
      this.windows.delete(address);
      if (entry.failed + entry.refused > 1) {
        this.log.warn('API authentication failures (summary)', { address, failed: entry.failed, refused: entry.refused, windowSeconds: this.windowMs / 1000 });
      }
    }
    if (this.windows.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
