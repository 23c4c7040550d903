// The one seam to the database (NetBird's management/server/store): one Store interface, one
// implementation over Prisma, one module per aggregate. Callers get typed records, never SQL,
// Prisma or JSON text; a transaction hands its callback the same interface bound to it.
export { createStore, type Store } from './store';
export { isFresh, type PresenceWrite } from './presence';
export { ChangeFeed, type ChangeBatch, type ChangeFeedOptions, type ChangeSubscriber } from './change-feed';
export type { ChangeKind, ChangeRecords, ChangeRow } from './changes';
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
export { healthRowsPerStatement } from './health';
export type { LinkRecord, LinkWithEnds, NewLink, PendingIntent } from './links';
export type { ApiTokenRecord, NewApiToken, TokenStore } from './tokens';
export type { AuditQuery, AuditRecord, AuditStore, NewAuditRecord } from './audit';
export type { BudgetStore } from './budgets';
