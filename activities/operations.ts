// Operation metrics at the store's boundary. Workflow code stays deterministic and counts nothing:
// the local activities that write a link's state do, from the state change the database applied.
// A retried write finds the state already changed and counts nothing, so an operation is counted
// once; the start of an operation is read from the database (the link's row and its events), so
// it is right whichever controller process runs the write.
import type { Logger } from '../lib/log';
import type { OperationKind, OperationMetrics } from '../lib/metrics';
import type { LinkRecord, Store } from '../store';

export interface OperationTracking {
  metrics: OperationMetrics;
  /** The link's latest events of these types, newest first (controller/metrics.ts). */
  recentEvents(linkId: string, types: readonly string[], take: number): Promise<Array<{ type: string; at: Date }>>;
}

/**
 * Events that open an operation on a link that is `updating`: the API's requests, written with the
 * state change, and the workflow's own start of following a moved gateway. A CIDR change writes
 * both its request and, later, `link.changing`: the oldest opener since the last settle wins.
 */
const OPENERS: Readonly<Record<string, OperationKind>> = {
  'link.requested': 'link_create',
  'cidr.change_requested': 'cidr_change',
  'key.rotation_requested': 'key_rotation',
  'link.changing': 'recovery',
};
/** Events the workflow writes when a link settles up or failed: the previous operation ended there. */
const SETTLES = new Set(['link.up', 'link.changed', 'link.unchanged', 'link.rolled_back', 'link.reachable', 'link.failed', 'link.unreachable', 'link.change_failed']);
const HISTORY_TYPES = [...Object.keys(OPENERS), ...SETTLES];
/** Enough for one operation's events (a request, a change, retries' failures). */
const HISTORY_TAKE = 20;

/** States from which a workflow's own move to `updating` is a recovery (following a moved gateway). */
const SETTLED = new Set(['up', 'degraded', 'failed']);

export interface StateWrite {
  linkId: string;
  state: string;
  /** The type of the event written with the state (`link.rolled_back`: the change failed, the link is up again). */
  eventType?: string;
}

export function operationAccounting(deps: { store: Store; tracking?: OperationTracking; clock: () => Date; log: Logger }) {
  const { tracking } = deps;

  /** What is read before a write: never fails the write (metrics are not worth an activity retry). */
  const before = async (step: StateWrite): Promise<{ link: LinkRecord; opener?: { kind: OperationKind; at: Date } } | undefined> => {
    try {
      const link = await deps.store.links.get(step.linkId);
      if (!link || link.state !== 'updating' || (step.state !== 'up' && step.state !== 'failed')) return link ? { link } : undefined;
      return { link, ...(await opener(step.linkId)) };
    } catch (err) {
      deps.log.debug('operation metrics: could not read the link before its state change', { linkId: step.linkId, err });
      return undefined;
    }
  };

  const opener = async (linkId: string): Promise<{ opener?: { kind: OperationKind; at: Date } }> => {
    let found: { kind: OperationKind; at: Date } | undefined;
    for (const event of await tracking!.recentEvents(linkId, HISTORY_TYPES, HISTORY_TAKE)) {
      if (SETTLES.has(event.type)) break;
      const kind = OPENERS[event.type];
      if (kind) found = { kind, at: event.at };
    }
    return found ? { opener: found } : {};
  };

  const seconds = (since: Date | null | undefined): number | undefined => (since ? (deps.clock().getTime() - since.getTime()) / 1000 : undefined);

  return {
    /** Runs a state write and counts the operation step it applied, if any. */
    async stateWrite(step: StateWrite, write: () => Promise<boolean>): Promise<boolean> {
      if (!tracking) return write();
      const read = await before(step);
      const written = await write();
      if (!written || !read || read.link.state === step.state) return written;
      const m = tracking.metrics;
      const from = read.link.state;
      if (step.state === 'updating' && SETTLED.has(from)) m.started.recovery.inc();
      if (step.state !== 'up' && step.state !== 'failed') return written;
      const outcome = step.state === 'failed' || step.eventType === 'link.rolled_back' ? 'failed' : 'completed';
      if (from === 'provisioning') m.ended('link_create', outcome, seconds(read.link.createdAt));
      // An operation whose opener is out of reach (history trimmed, events renamed) is still counted.
      else if (from === 'updating') m.ended(read.opener?.kind ?? 'recovery', outcome, seconds(read.opener?.at));
      return written;
    },

    /** Runs the final delete write; the delete completed unless the link was deleted already. */
    async deleteWrite(linkId: string, write: () => Promise<void>): Promise<void> {
      if (!tracking) return write();
      const read = await before({ linkId, state: 'deleted' });
      await write();
      if (read && read.link.state !== 'deleted') tracking.metrics.ended('link_delete', 'completed', seconds(read.link.deleteRequestedAt));
    },
  };
}
