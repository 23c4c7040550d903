// Turns many single-item calls into few batched ones. Items submitted while a batch is in flight
// wait for the next one, so batches grow with load by themselves: one agent's hello costs no added
// delay, and a reconnect storm of thousands costs a few dozen statements instead of thousands.
export interface BatcherOptions {
  /** Upper bound on items per batch (SQL parameter limits, statement size). */
  maxBatch: number;
  /** Batches in flight at once; 1 keeps batches, and so the writes in them, in submission order. */
  concurrency: number;
}

/**
 * Callers resumed per event-loop turn when a batch settles. Each resumed caller does real work
 * (a handshake, a welcome: a socket write each), and a thousand of them in one turn would keep the
 * loop from accepting new connections for a tenth of a second, long enough in a reconnect storm to
 * overflow the kernel's accept queue and make agents wait out SYN retransmission (1 s, 3 s, 7 s...).
 */
const SETTLE_SLICE = 64;

interface Waiter<I, O> {
  readonly item: I;
  readonly resolve: (v: O) => void;
  readonly reject: (e: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Array<Waiter<I, O>> = [];
  private running = 0;
  private scheduled = false;

  /** `run` answers every item of a batch, in order; if it throws, every item of that batch fails. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly o: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // Deferred to after the current I/O phase so frames that arrived together go out together.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.running < this.o.concurrency && this.queue.length > 0) {
      const batch = this.queue.length <= this.o.maxBatch ? this.queue : this.queue.slice(0, this.o.maxBatch);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.o.maxBatch);
      this.running++;
      void this.run(batch.map((w) => w.item))
        .then(
          (results) => settleInSlices(batch, (w, i) => w.resolve(results[i]!)),
          (err: unknown) => settleInSlices(batch, (w) => w.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}

function settleInSlices<T>(items: readonly T[], settle: (item: T, index: number) => void, from = 0): void {
  const end = Math.min(items.length, from + SETTLE_SLICE);
  for (let i = from; i < end; i++) settle(items[i]!, i);
  if (end < items.length) setImmediate(() => settleInSlices(items, settle, end));
}
