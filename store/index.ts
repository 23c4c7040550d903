// The one seam to the database (NetBird's management/server/store): one Store interface, one
// implementation over Prisma, one module per aggregate. Callers get typed records, never SQL,
// Prisma or JSON text; a transaction hands its callback the same interface bound to it.
import type { Db } from '../db';
import { accountStore, type AccountStore } from './accounts';
import { changeRecords, type ChangeRecords } from './changes';
import { claimStore, type ClaimStore } from './claims';
import { connect, type Conn } from './conn';
import { gatewayStore, type GatewayStore } from './gateways';
import { healthStore, type HealthStore } from './health';
import { linkStore, type LinkStore } from './links';
import { presenceRecords, type PresenceRecords } from './presence';

export interface Store {
  readonly gateways: GatewayStore;
  readonly links: LinkStore;
  /** Route and security-group rule claims of links. */
  readonly claims: ClaimStore;
  /** What the hub writes: agents' presence, secret hashes, enrolment redemption. */
  readonly presence: PresenceRecords;
  readonly accounts: AccountStore;
  /** The change log the database's triggers write (live updates, revocations). */
  readonly changes: ChangeRecords;
  /** The latest data-plane figures per link end (what agents measured). */
  readonly health: HealthStore;
  /**
   * Runs `work` in one transaction with a store bound to it: everything it reads and writes
   * through that store commits together or not at all (a thrown error rolls back). Inside a
   * transaction, a nested one is the same transaction.
   */
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;
}

/** The store over an open database (db/index.ts openDb); it holds no state of its own. */
export function createStore(db: Db): Store {
  return bindStore(connect(db));
}

function bindStore(conn: Conn): Store {
  const store: Store = {
    gateways: gatewayStore(conn),
    links: linkStore(conn),
    claims: claimStore(conn),
    presence: presenceRecords(conn),
    accounts: accountStore(conn),
    changes: changeRecords(conn),
    health: healthStore(conn),
    transaction: (work) => conn.atomically((inner) => work(inner === conn ? store : bindStore(inner))),
  };
  return store;
}

export { isFresh, type PresenceWrite } from './presence';
export { ChangeFeed, type ChangeBatch, type ChangeFeedOptions, type ChangeKind, type ChangeRecords, type ChangeRow, type ChangeSubscriber } from './changes';
/** How stored rows read as records, for tests and tools that hold rows rather than a store. */
export { decodeGateway, readFacts } from './gateways';
export { decodeLink } from './links';
export { DuplicateError, CorruptRowError } from './errors';
export { isForeignKeyViolation } from './conn';
export type { AccountRecord, NewAccount } from './accounts';
export type { HeldClaims, RouteOutcome, StoredRouteClaim } from './claims';
export type { LinkEventInput, LinkEventRecord } from './events';
export type { DiscoveryResult, GatewayPresence, GatewayRecord, NewGateway } from './gateways';
export type { StoredFacts } from './json';
export type { HealthStore, LinkEnd, LinkHealthRecord } from './health';
export type { LinkRecord, LinkWithEnds, NewLink, PendingIntent } from './links';
