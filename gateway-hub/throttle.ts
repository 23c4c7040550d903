// Per-key token buckets that never drop the last word. A value pushed while its key has a token is
// delivered at once; otherwise it replaces whatever waits for that key and goes out when the next
// token is due. Normal traffic (a few events now and then) passes untouched and in order; a flood
// collapses into a bounded number of deliveries that ends with its latest value.
import { performance } from 'node:perf_hooks';

export interface ThrottleOptions {
  /** Deliveries a quiet key may make back to back. */
  burst: number;
  /** One token comes back per refillMs. */
  refillMs: number;
}

interface Bucket<V> {
  tokens: number;
  /** When `tokens` was last brought up to date (performance.now()). */
  at: number;
  /** The latest value waiting for a token; only ever one per key. */
  waiting?: { value: V };
  timer?: NodeJS.Timeout;
}

export class CoalescingThrottle<V> {
  private readonly buckets = new Map<string, Bucket<V>>();
  private sweeper?: NodeJS.Timeout;

  /** `deliver` must not throw: it runs from timers too. */
  constructor(
    private readonly o: ThrottleOptions,
    private readonly deliver: (key: string, value: V) => void,
  ) {}

  push(key: string, value: V): void {
    const now = performance.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.o.burst, at: now };
      this.buckets.set(key, bucket);
      this.armSweeper();
    }
    if (bucket.waiting) {
      bucket.waiting.value = value; // delivered, as the latest, when its token is due
      return;
    }
    this.refill(bucket, now);
    if (bucket.tokens >= 1) {
      bucket.tokens--;
      this.deliver(key, value);
      return;
    }
    bucket.waiting = { value };
    const due = bucket;
    bucket.timer = setTimeout(() => this.flush(key, due), Math.ceil((1 - bucket.tokens) * this.o.refillMs));
    bucket.timer.unref();
  }

  /** Keys tracked (waiting, or with a bucket not yet full again). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops whatever waits and forgets every bucket (the hub is stopping). */
  close(): void {
    for (const bucket of this.buckets.values()) clearTimeout(bucket.timer);
    this.buckets.clear();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private flush(key: string, bucket: Bucket<V>): void {
    const waiting = bucket.waiting;
    bucket.waiting = undefined;
    bucket.timer = undefined;
    if (!waiting || this.buckets.get(key) !== bucket) return;
    this.refill(bucket, performance.now());
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.deliver(key, waiting.value);
  }

  private refill(bucket: Bucket<V>, now: number): void {
    bucket.tokens = Math.min(this.o.burst, bucket.tokens + (now - bucket.at) / this.o.refillMs);
    bucket.at = now;
  }

  /**
   * A full bucket with nothing waiting is the same as no bucket: forgetting those keeps memory to
   * the keys that were busy lately, however many distinct keys a peer invents.
   */
  private armSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const [key, bucket] of this.buckets) {
        if (bucket.waiting) continue;
        this.refill(bucket, now);
        if (bucket.tokens >= this.o.burst) this.buckets.delete(key);
      }
      if (this.buckets.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, Math.max(1000, this.o.burst * this.o.refillMs));
    this.sweeper.unref();
  }
}
