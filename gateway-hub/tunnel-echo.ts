// What a link's workflow already learned about one end's CHILD_SA from an activity's result. The
// initiating end's agent reports the CHILD_SA it just installed a moment after `initiate` answered
// (about a quarter of a second later on a loaded controller); signalling that report would tell the
// workflow what it knows, at the cost of a signal, a history event and often a workflow task per
// link. So that one report is absorbed here, in the process that ran the activity and holds the
// agent's socket; every other report (a down, an up after a down, one after a config push) is
// signalled as before.

/** How long an activity's answer stands in for the report that follows it. */
const ECHO_TTL_MS = 30_000;
/** Entries kept at most (each a few dozen bytes); the oldest go first. */
const MAX_ENTRIES = 50_000;

export interface TunnelEchoPort {
  /** An activity told the link's workflow that this end's CHILD_SA is installed. */
  installed(linkId: string, gatewayId: string): void;
  /** The end's config is being replaced: its next report counts whatever it says. */
  forget(linkId: string, gatewayId: string): void;
}

export class TunnelEcho implements TunnelEchoPort {
  /** By `linkId/gatewayId`: when the answer stops standing in for a report (ms). Insertion order is age order. */
  private readonly told = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = ECHO_TTL_MS,
  ) {}

  installed(linkId: string, gatewayId: string): void {
    const key = `${linkId}/${gatewayId}`;
    this.told.delete(key);
    const now = this.now();
    this.told.set(key, now + this.ttlMs);
    // The oldest first: drop what expired, and beyond the bound whatever is oldest.
    for (const [oldest, until] of this.told) {
      if (until >= now && this.told.size <= MAX_ENTRIES) break;
      this.told.delete(oldest);
    }
  }

  forget(linkId: string, gatewayId: string): void {
    this.told.delete(`${linkId}/${gatewayId}`);
  }

  /**
   * Whether a report only repeats what the workflow was told: an up report while the answer
   * stands. Any report ends the answer, so only the first one after it can be absorbed.
   */
  absorbs(linkId: string, gatewayId: string, up: boolean): boolean {
    const key = `${linkId}/${gatewayId}`;
    const until = this.told.get(key);
    if (until === undefined) return false;
    this.told.delete(key);
    return up && this.now() <= until;
  }

  get size(): number {
    return this.told.size;
  }
}
