// Round-trip samples of one link's probes, kept for a minute: the API shows their median, which a
// single slow answer (a rekey, a busy charon) does not move the way a mean or "latest" would.

/** How far back the median looks. */
export const RTT_WINDOW_MS = 60_000;
/** Bound on kept samples, whatever the probe rate. */
const MAX_SAMPLES = 600;

export class RttWindow {
  private readonly samples: Array<{ at: number; ms: number }> = [];

  add(ms: number, at: number): void {
    this.samples.push({ at, ms });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  /** Median of the samples taken within the last minute before `now`; undefined without any. */
  p50(now: number): number | undefined {
    while (this.samples.length > 0 && this.samples[0]!.at < now - RTT_WINDOW_MS) this.samples.shift();
    if (this.samples.length === 0) return undefined;
    const sorted = this.samples.map((s) => s.ms).sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
}
