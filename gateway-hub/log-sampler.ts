// Log lines a peer can cause at will (refused connections, an agent repeating a bad frame),
// sampled: the first of each kind per source and window is written, the rest are counted into one
// summary line per kind and window, so a flood cannot flood the log (or the disk it is written to).
import type { Logger } from '../lib/log';

export interface LogSamplerOptions {
  log: Logger;
  /** How long a source stays "already logged", and how often the summary is written. */
  windowMs: number;
  /** Sources remembered per window; beyond that lines are only counted (an address sweep). */
  maxSources?: number;
}

interface Tally {
  suppressed: number;
  sources: Set<string>;
}

export class LogSampler {
  private readonly logged = new Set<string>();
  private readonly tallies = new Map<string, Tally>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: LogSamplerOptions) {}

  /** Writes a warning unless one with this message was written for `source` in this window. */
  warn(source: string, msg: string, fields: Record<string, unknown>): void {
    this.arm();
    const key = `${msg}\n${source}`;
    if (!this.logged.has(key) && this.logged.size < (this.o.maxSources ?? 10_000)) {
      this.logged.add(key);
      this.o.log.warn(msg, fields);
      return;
    }
    const tally = this.tallies.get(msg) ?? { suppressed: 0, sources: new Set<string>() };
    tally.suppressed++;
    if (tally.sources.size < 1000) tally.sources.add(source);
    this.tallies.set(msg, tally);
  }

  /** Writes what is still counted and stops the window timer. */
  close(): void {
    clearTimeout(this.timer);
    this.flush();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.o.windowMs);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    for (const [msg, tally] of this.tallies) {
      this.o.log.warn(`${msg} (summary)`, { suppressed: tally.suppressed, sources: tally.sources.size, windowMs: this.o.windowMs });
    }
    this.tallies.clear();
    this.logged.clear();
  }
}
