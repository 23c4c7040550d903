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

/** One statement inserting a link's events in order (their ids keep it); none for no events. */
export function eventInserts(linkId: string, events: readonly LinkEventInput[], at: Date): Sql[] {
  if (events.length === 0) return [];
  const rows = events.map((event) => sql`(${linkId}, ${at}, ${event.type}, ${event.message}, ${event.data ? JSON.stringify(event.data) : null})`);
  return [sql`INSERT INTO "LinkEvent" ("linkId", "at", "type", "message", "data") VALUES ${join(rows)}`];
}

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
