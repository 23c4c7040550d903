// The intent sweep: the API records an operator's DELETE or PATCH (state deleting / updating)
// before it signals the link's workflow, so a signal lost on the way (Temporal unreachable, the
// controller gone before it was sent) is sent from here: at start and every few seconds, for links
// left deleting or updating for a while. A repeated signal is harmless; each process sends a
// pending intent once (again after a failure, after the link was written to since, or after a
// long while), so history stays small.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../lib/log';
import type { PendingIntent, Store } from '../store';

export interface IntentSweepOptions {
  store: Store;
  /** Sends the intent's signal (delete, or reconfigure) to the link's workflow; throws when it cannot. */
  signal: (intent: PendingIntent) => Promise<void>;
  log: Logger;
  clock: () => Date;
  /** How often to look (default 5 s). */
  everyMs?: number;
  /** An intent younger than this is left to the request that recorded it (default 5 s). */
  graceMs?: number;
  /** Intents handled per sweep, oldest first (default 100). */
  perSweep?: number;
  /** A signal that went through is sent again after this long if the intent is still pending (default 5 min). */
  resendAfterMs?: number;
}

export interface IntentSweep {
  /** One pass now (or the one under way); how many signals it sent. */
  sweep(): Promise<number>;
  /** No more passes; resolves once the one under way finished. */
  stop(): Promise<void>;
}

export function startIntentSweep(options: IntentSweepOptions): IntentSweep {
  const everyMs = options.everyMs ?? 5000;
  const graceMs = options.graceMs ?? 5000;
  const resendAfterMs = options.resendAfterMs ?? 300_000;
  /** When each pending intent's signal last went through, by link, intent and the link's last write. */
  const delivered = new Map<string, number>();
  const keyOf = (intent: PendingIntent): string => `${intent.id}|${intent.intent}|${intent.since.getTime()}`;
  let running: Promise<number> | undefined;

  const sweepOnce = async (): Promise<number> => {
    const now = options.clock().getTime();
    const pending = await options.store.links.pendingIntents(new Date(now - graceMs), options.perSweep ?? 100);
    const keys = new Set(pending.map(keyOf));
    // Forget intents that are no longer pending (or were written to since): what comes later is new.
    for (const key of delivered.keys()) if (!keys.has(key)) delivered.delete(key);
    let sent = 0;
    for (const intent of pending) {
      const key = keyOf(intent);
      const last = delivered.get(key);
      if (last !== undefined && now - last < resendAfterMs) continue;
      try {
        await options.signal(intent);
        delivered.set(key, now);
        sent++;
        options.log.info('link intent re-sent to its workflow', { linkId: intent.id, intent: intent.intent });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          // Nothing will ever act on it; say so once per process and leave it to the operator.
          delivered.set(key, now);
          options.log.warn('link intent pending but its workflow is gone', { linkId: intent.id, intent: intent.intent });
          continue;
        }
        // Temporal is still unreachable: the next sweep tries again; no point trying the rest now.
        options.log.warn('could not re-send a link intent; will retry', { linkId: intent.id, intent: intent.intent, err });
        break;
      }
    }
    return sent;
  };

  const sweep = (): Promise<number> => {
    running ??= sweepOnce().finally(() => (running = undefined));
    return running;
  };
  const tick = (): void => {
    sweep().catch((err: unknown) => options.log.warn('intent sweep failed', { err }));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
