// Which link states take an operator's change (new CIDRs, a new key): only settled ones, so two
// changes never overlap in the link's workflow. One wording for every refusal.
import { conflict } from '../lib/errors';

/** States in which a link takes a change: it has settled (up, degraded or failed). */
const CHANGEABLE = new Set(['up', 'degraded', 'failed']);

/** `what`: the change refused, as in "it cannot be changed" or "its key cannot be rotated". */
export function assertChangeable(link: { id: string; state: string; deletedAt: Date | null }, what: { cannot: string; once: string }): void {
  if (link.deletedAt || link.state === 'deleted' || link.state === 'deleting') {
    throw conflict(`link ${link.id} is ${link.state === 'deleting' ? 'being deleted' : 'deleted'}; ${what.cannot}`, { state: link.state });
  }
  if (link.state === 'updating') throw conflict(`link ${link.id} is already applying a change; try again once it settled`, { state: link.state });
  if (!CHANGEABLE.has(link.state)) throw conflict(`link ${link.id} is still being provisioned; ${what.once} once it is up (or failed)`, { state: link.state });
}

export const CIDR_CHANGE = { cannot: 'it cannot be changed', once: 'change it' };
export const KEY_ROTATION = { cannot: 'its key cannot be rotated', once: 'rotate its key' };
