// Periodic PSK rotation (PSK_ROTATION_DAYS): links whose key is older than the limit get a new
// one, exactly as POST /api/links/:id/rotate-key does it (the workflow pushes it make-before-break).
// Every worker process runs the sweep; the conditional write in rotateLinkKey lets one of them win.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store';
import { withRequestId } from '../lib/request-context';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { SecretKey } from '../lib/crypto';
import type { LinkOrchestrator } from '../api/context';
import { rotateLinkKey } from '../api/link-keys';

export interface KeyRotationOptions {
  store: Store;
  secretKey: SecretKey;
  links: Pick<LinkOrchestrator, 'reconfigure'>;
  log: Logger;
  clock: () => Date;
  /** A key older than this is rotated. */
  maxAgeMs: number;
  /** How often to look (default: an hour, or a tenth of maxAgeMs when that is shorter). */
  checkEveryMs?: number;
  /** Links rotated per sweep, so enabling rotation on a large mesh does not re-key it all at once. */
  perSweep?: number;
}

export function startKeyRotation(options: KeyRotationOptions): { stop(): void } {
  const every = options.checkEveryMs ?? Math.max(1000, Math.min(3_600_000, Math.floor(options.maxAgeMs / 10)));
  /** A sweep still going when the next is due is not overlapped. */
  let running: Promise<void> | undefined;
  const sweep = async (): Promise<void> => {
    const due = await options.store.links.dueForKeyRotation(new Date(options.clock().getTime() - options.maxAgeMs), options.perSweep ?? 50);
    for (const id of due) {
      // The controller's own operation: an id of its own, on the workflow's memo and activities
      // and in the audit trail, as an API call's would be.
      const requestId = `rotation-${randomUUID()}`;
      try {
        await withRequestId(requestId, () => rotateLinkKey(options, id, { reason: 'schedule' }));
        await options.store.audit
          .append({ at: options.clock(), actor: 'controller', tokenId: null, source: 'key rotation schedule', action: 'rotate link key (schedule)', target: id, body: null, status: 202, requestId, secret: 'link PSK' })
          .catch((err: unknown) => options.log.error('could not write an audit record', { action: 'rotate link key (schedule)', requestId, err }));
      } catch (err) {
        // Another controller rotated it first, or it started changing: the next sweep looks again.
        if (err instanceof AppError && err.kind === 'conflict') continue;
        options.log.warn('scheduled key rotation failed; will retry', { linkId: id, err });
      }
    }
  };
  const timer = setInterval(() => {
    running ??= sweep()
      .catch((err: unknown) => options.log.warn('key rotation sweep failed', { err }))
      .finally(() => (running = undefined));
  }, every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
