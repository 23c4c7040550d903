// The Store: one interface over the aggregates' modules, bound to a connection or a transaction.
import type { Db } from '../db';
import { accountStore, type AccountStore } from './accounts';
import { changeRecords, type ChangeRecords } from './changes';
import { claimStore, type ClaimStore } from './claims';
import { connect, type Conn } from './conn';
import { gatewayStore, type GatewayStore } from './gateways';
import { healthStore, type HealthStore } from './health';
import { linkStore, type LinkStore } from './links';
import { presenceRecords, type PresenceRecords } from './presence';
import { tokenStore, type TokenStore } from './tokens';
import { auditStore, type AuditStore } from './audit';
import { budgetStore, type BudgetStore } from './budgets';

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
  /** API tokens with roles (hashes only). */
  readonly tokens: TokenStore;
  /** The audit trail of mutating API calls (append-only). */
  readonly audit: AuditStore;
  /** Cloud API rate budgets shared by every controller process (cloud/pacer.ts). */
  readonly budgets: BudgetStore;
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
    tokens: tokenStore(conn),
    audit: auditStore(conn),
    budgets: budgetStore(conn),
    transaction: (work) => conn.atomically((inner) => work(inner === conn ? store : bindStore(inner))),
  };
  return store;
}
