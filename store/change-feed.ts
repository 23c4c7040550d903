// A process's one reader of the change log (changes.ts): it follows the log from a cursor and
// hands each new batch to its subscribers (the console's event streams, the hub).
// PostgreSQL: the triggers NOTIFY at commit and the feed LISTENs on one dedicated connection, so
// changes made by any controller arrive within milliseconds; SQLite (one process): a light poll.
import pg from 'pg';
import { openDb, type Db } from '../db';
import type { Logger } from '../lib/log';
import { createStore, type Store } from './store';
import type { ChangeRecords, ChangeRow, Snapshot } from './changes';

/** A run of new changes, in order; `through` is the feed's cursor after it. */
export interface ChangeBatch {
  rows: ChangeRow[];
  through: number;
}

export interface ChangeSubscriber {
  batch(batch: ChangeBatch): void;
  /** The feed stopped (the controller is stopping). */
  closed?(): void;
}

export interface ChangeFeedOptions {
  /** The database URL: SQLite gets a connection of the feed's own, PostgreSQL a LISTEN connection. */
  url: string;
  /** The process's database handle (PostgreSQL reads go through its pool). */
  db: Db;
  log: Logger;
  /** SQLite: how often the log is read (default 200 ms). */
  pollMs?: number;
  /** PostgreSQL: how often the log is read anyway, should a notification be lost (default 2 s). */
  fallbackPollMs?: number;
  /**
   * PostgreSQL: notifications within this window share one read (default 40 ms). Every committed
   * change notifies every controller; reading per notification cost a busy controller a read per
   * change, and one read per window takes them all.
   */
  coalesceMs?: number;
  /** Retention: rows younger than this, or among the newest keepRows, are kept (default 1 h, 10,000). */
  keepMs?: number;
  keepRows?: number;
}

const CHANNEL = 'ipsec_mesh_changes';
const READ_LIMIT = 1000;
/** While a sequence gap is unexplained, how often the log is read again. */
const GAP_RECHECK_MS = 50;
/** A gap still open after this is given up on (a transaction left open that long is not ours). */
const GAP_GIVE_UP_MS = 10_000;
const PRUNE_EVERY_MS = 60_000;
const MAX_ROWS = 1_000_000;

/**
 * Follows the change log. Its cursor only ever passes rows that are committed (or numbers whose
 * transaction rolled back): on PostgreSQL sequence numbers are taken before commit, so a row can
 * become visible after a higher one. A missing number is waited for until every transaction that
 * was running when the gap was first seen has ended (the snapshot's xmin passed that read's xmax);
 * then it is either visible or was rolled back. SQLite serialises writers, so it has no such gaps.
 */
export class ChangeFeed {
  private cursorValue = 0;
  private readonly subscribers = new Set<ChangeSubscriber>();
  private reading = false;
  private again = false;
  private closed = false;
  private gap?: { at: number; xmax: bigint; since: number };
  private pollTimer?: NodeJS.Timeout;
  private gapTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private listener?: pg.Client;
  private reconnectTimer?: NodeJS.Timeout;
  private coalesceTimer?: NodeJS.Timeout;

  private constructor(
    private readonly options: ChangeFeedOptions,
    /** Reads only committed rows: on SQLite a connection of its own (see start). */
    readonly store: Store,
    private readonly ownDb: Db | undefined,
  ) {}

  /**
   * Opens the feed at the log's current end. On SQLite it reads through a second connection:
   * the process's one is shared with open interactive transactions, whose uncommitted rows a
   * read there would see (and a rolled-back number is reused).
   */
  static async start(options: ChangeFeedOptions): Promise<ChangeFeed> {
    const sqlite = !options.url.startsWith('postgres');
    const ownDb = sqlite ? await openDb(options.url) : undefined;
    const feed = new ChangeFeed(options, createStore(ownDb ?? options.db), ownDb);
    try {
      await feed.open();
    } catch (err) {
      await feed.close();
      throw err;
    }
    return feed;
  }

  /** Every change up to here has been handed to subscribers (or was before the feed started). */
  get cursor(): number {
    return this.cursorValue;
  }

  get records(): ChangeRecords {
    return this.store.changes;
  }

  subscribe(subscriber: ChangeSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.gapTimer);
    clearInterval(this.pruneTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.coalesceTimer);
    for (const subscriber of [...this.subscribers]) subscriber.closed?.();
    this.subscribers.clear();
    await this.listener?.end().catch(() => undefined);
    await this.ownDb?.$disconnect();
  }

  private async open(): Promise<void> {
    const pgFeed = !this.ownDb;
    if (pgFeed) await this.listen();
    const start = await this.records.latest();
    // Rows below the start that are not visible yet belong to transactions running now: wait for
    // them to end, so that "everything up to the cursor" holds from the first subscriber on.
    if (start.snapshot) await this.waitPast(start.snapshot.xmax);
    this.cursorValue = start.seq;
    const poll = pgFeed ? (this.options.fallbackPollMs ?? 2000) : (this.options.pollMs ?? 200);
    this.pollTimer = setInterval(() => this.pump(), poll);
    this.pollTimer.unref();
    // Controllers prune at random phases; a prune that finds nothing to delete costs one indexed read.
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS + Math.floor(Math.random() * 10_000));
    this.pruneTimer.unref();
  }

  private async waitPast(xmax: bigint): Promise<void> {
    const deadline = Date.now() + GAP_GIVE_UP_MS;
    for (;;) {
      const now = await this.records.snapshot();
      if (!now || now.xmin >= xmax || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, GAP_RECHECK_MS));
    }
  }

  /** One connection per process LISTENs; a lost one is replaced, and the log read in case a notification fell between. */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url });
    client.on('notification', () => this.pumpSoon());
    client.on('error', (err) => {
      this.options.log.warn('change feed: listen connection failed; reconnecting', { err: err.message });
      this.relisten(client);
    });
    client.on('end', () => this.relisten(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  private relisten(client: pg.Client): void {
    if (this.closed || this.listener !== client || this.reconnectTimer) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.listen().then(
        () => this.pump(),
        (err: unknown) => {
          this.options.log.warn('change feed: could not listen; retrying', { err: (err as Error).message });
          this.relisten(client);
        },
      );
    }, 1000);
    this.reconnectTimer.unref();
  }

  /** A read within the coalescing window: notifications arriving meanwhile join it. */
  private pumpSoon(): void {
    if (this.coalesceTimer || this.closed) return;
    this.coalesceTimer = setTimeout(() => {
      this.coalesceTimer = undefined;
      this.pump();
    }, this.options.coalesceMs ?? 40);
  }

  /** Reads until caught up; calls while a read runs fold into one more read. */
  private pump(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void (async () => {
      try {
        do {
          this.again = false;
          if (await this.readOnce()) this.again = true;
        } while (this.again && !this.closed);
      } catch (err) {
        this.options.log.warn('change feed: could not read the change log', { err });
      } finally {
        this.reading = false;
      }
    })();
  }

  /** One read; true when there may be more to read at once. */
  private async readOnce(): Promise<boolean> {
    const { rows, snapshot } = await this.records.after(this.cursorValue, READ_LIMIT);
    if (this.closed) return false;
    const accepted: ChangeRow[] = [];
    let expected = this.cursorValue + 1;
    for (const row of rows) {
      if (row.seq !== expected && snapshot && !this.gapResolved(expected, snapshot)) break;
      this.gap = undefined;
      accepted.push(row);
      expected = row.seq + 1;
    }
    if (accepted.length > 0) {
      this.cursorValue = accepted[accepted.length - 1]!.seq;
      const batch: ChangeBatch = { rows: accepted, through: this.cursorValue };
      for (const subscriber of [...this.subscribers]) {
        try {
          subscriber.batch(batch);
        } catch (err) {
          this.options.log.warn('change feed: a subscriber failed', { err });
        }
      }
    }
    if (this.gap && !this.gapTimer) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.pump();
      }, GAP_RECHECK_MS);
      this.gapTimer.unref();
    }
    return rows.length === READ_LIMIT && accepted.length === rows.length;
  }

  /** Whether the numbers from `at` up to the next visible row can be passed over (see the class comment). */
  private gapResolved(at: number, snapshot: Snapshot): boolean {
    if (!this.gap || this.gap.at !== at) {
      this.gap = { at, xmax: snapshot.xmax, since: Date.now() };
      return false;
    }
    if (snapshot.xmin >= this.gap.xmax) return true;
    if (Date.now() - this.gap.since > GAP_GIVE_UP_MS) {
      this.options.log.warn('change feed: passing over a sequence gap held open by a long transaction', { seq: at });
      return true;
    }
    return false;
  }

  private async prune(): Promise<void> {
    try {
      await this.records.prune({ rows: this.options.keepRows ?? 10_000, ms: this.options.keepMs ?? 3_600_000, maxRows: MAX_ROWS });
    } catch (err) {
      this.options.log.warn('change feed: could not prune the change log', { err });
    }
  }
}

