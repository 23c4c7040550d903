// A link's history: one row per step, written by its workflow and by the API. Part of the links
// aggregate; kept apart because the claims module writes events in the same transactions.
import { int, join, optionalText, date, sql, text, type Sql } from './conn';
import { EventData, parseColumn } from './json';

/** One step in a link's life, as recorded. */
export interface LinkEventRecord {
  id: number;
  at: Date;
  /** Machine-readable kind, e.g. "config.pushed", "tunnel.up", "failed". */
  type: string;
  message: string;
  /** Details (never secrets), or null. */
  data: Record<string, unknown> | null;
}

/** An event to record. */
export interface LinkEventInput {
  type: string;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * One statement inserting a link's events in order (their ids keep it); none for no events. A
 * change the controller made in a cloud (events `cloud.*`) also gets an audit record, in the
 * same transaction, naming the request behind it (`data.requestId`, put there by the activity
 * that records it; empty when the controller acted on its own, e.g. after a gateway moved).
 */
export function eventInserts(linkId: string, events: readonly LinkEventInput[], at: Date): Sql[] {
  if (events.length === 0) return [];
  const rows = events.map((event) => sql`(${linkId}, ${at}, ${event.type}, ${event.message}, ${event.data ? JSON.stringify(event.data) : null})`);
  const statements = [sql`INSERT INTO "LinkEvent" ("linkId", "at", "type", "message", "data") VALUES ${join(rows)}`];
  const cloud = events.filter((event) => event.type.startsWith(CLOUD_EVENT));
  if (cloud.length > 0) {
    const audits = cloud.map((event) => {
      const { requestId, ...details } = event.data ?? {};
      const body = JSON.stringify({ message: event.message, ...details });
      return sql`(${at}, 'controller', NULL, 'link workflow', ${event.type}, ${linkId}, ${body}, 200, ${typeof requestId === 'string' ? requestId : ''}, NULL)`;
    });
    statements.push(sql`INSERT INTO "AuditRecord" ("at", "actor", "tokenId", "source", "action", "target", "body", "status", "requestId", "secret") VALUES ${join(audits)}`);
  }
  return statements;
}

/** Event types of changes made in a cloud (routes, security-group rules, instances). */
export const CLOUD_EVENT = 'cloud.';

export function decodeEvent(row: Record<string, unknown>): LinkEventRecord {
  const id = int(row.id);
  const data = optionalText(row.data);
  return {
    id,
    at: date(row.at),
    type: text(row.type),
    message: text(row.message),
    data: data === null ? null : parseColumn(EventData, data, { table: 'LinkEvent', column: 'data', id }),
  };
}
