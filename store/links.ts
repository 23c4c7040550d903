// The links aggregate: a link between two gateways, its state and the networks each end carries,
// its sealed PSK, the operator's recorded intents (a change, a delete) and its event history.
import { bool, date, empty, int, join, optionalDate, optionalText, raw, sql, text, type Conn, type Sql } from './conn';
import { routeOutcomeWrites, type RouteOutcome } from './claims';
import { decodeEvent, eventInserts, type LinkEventInput, type LinkEventRecord } from './events';
import { gatewaysById, gatewaysWhere, type GatewayRecord } from './gateways';
import { StringList, parseColumn } from './json';

export interface LinkRecord {
  id: string;
  aId: string;
  bId: string;
  /** "<smaller id>|<larger id>" while the link exists. */
  activePairKey: string | null;
  /** provisioning | up | degraded | updating | failed | deleting | deleted */
  state: string;
  stateReason: string | null;
  /** The networks each end carries. */
  aCidrs: string[];
  bCidrs: string[];
  /** The PSK sealed to this row (lib/crypto); never shown, decrypted only to push it to an agent. */
  pskCiphertext: string;
  workflowId: string;
  keyVersion: number;
  keyRotatedAt: Date;
  aTunnelUp: boolean;
  bTunnelUp: boolean;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  /** When the operator's DELETE was accepted; from then on only deleting/deleted are written. */
  deleteRequestedAt: Date | null;
}

export type LinkWithEnds = LinkRecord & { a: GatewayRecord; b: GatewayRecord };

export interface NewLink {
  id: string;
  aId: string;
  bId: string;
  activePairKey: string;
  aCidrs: string[];
  bCidrs: string[];
  pskCiphertext: string;
  workflowId: string;
}

/** States that may still be written once a delete was requested. */
const DELETE_STATES = new Set(['deleting', 'deleted']);

/** What the operator left for a workflow that may not have heard of it: a delete or a change. */
export interface PendingIntent {
  id: string;
  workflowId: string;
  intent: 'delete' | 'change';
  /** The link's last write: a newer one means the intent may be a new one (another PATCH). */
  since: Date;
}

export interface LinkStore {
  get(id: string): Promise<LinkRecord | undefined>;
  /** The link with both gateways, or undefined. */
  withEnds(id: string): Promise<LinkWithEnds | undefined>;
  /** The link's events, oldest first. */
  events(id: string): Promise<LinkEventRecord[]>;
  /** Links with both gateways, oldest first; deleted ones only when asked. */
  list(options: { includeDeleted: boolean }): Promise<LinkWithEnds[]>;
  /** The live (not deleted) links of some gateways, but `exceptLink`. */
  liveOf(gatewayIds: readonly string[], exceptLink?: string): Promise<LinkRecord[]>;
  /** The live links of one gateway, with both ends. */
  liveWithEndsOf(gatewayId: string): Promise<LinkWithEnds[]>;
  /** Stores a new link (state provisioning) with its first event; DuplicateError when the pair is linked. */
  create(link: NewLink, event: LinkEventInput, at: Date): Promise<LinkRecord>;
  /** Removes a link whose workflow could not be started, with its events. */
  removeUnstarted(id: string): Promise<void>;
  /** The sealed PSK, or undefined for an unknown link. */
  pskOf(id: string): Promise<string | undefined>;
  /** Appends events to a link's history, in order. */
  addEvents(linkId: string, events: readonly LinkEventInput[], at: Date): Promise<void>;
  /** Appends one event; its id. */
  addEvent(linkId: string, event: LinkEventInput, at: Date): Promise<number>;
  removeEvent(id: number): Promise<void>;
  /**
   * The workflow's step: route outcomes, then the new state, then events, in one transaction.
   * Once a delete was requested only deleting/deleted are written: false when the state was kept.
   */
  setState(step: { linkId: string; state: string; reason?: string; routes?: RouteOutcome[]; events?: readonly LinkEventInput[] }, at: Date): Promise<boolean>;
  /** Puts the CIDRs back to the ones that last worked, with the event saying why. */
  revertCidrs(linkId: string, cidrs: { a: string[]; b: string[] }, event: LinkEventInput, at: Date): Promise<void>;
  /** Marks the link deleted (history kept, the pair free again), with its last event. */
  finishDelete(linkId: string, event: LinkEventInput, at: Date): Promise<void>;
  /**
   * The operator's CIDR change: new CIDRs and state updating, only while the link is still in
   * `fromState` and no delete was requested; false (nothing written) otherwise.
   */
  requestChange(change: { linkId: string; fromState: string; aCidrs: string[]; bCidrs: string[] }, at: Date): Promise<boolean>;
  /**
   * A new sealed PSK (version + 1) with state updating, only while the link is as it was read;
   * false (nothing written) otherwise.
   */
  rotateKey(rotation: { linkId: string; fromState: string; fromKeyVersion: number; pskCiphertext: string }, at: Date): Promise<boolean>;
  /** Undoes a rotation whose signal could not be sent, unless something was written since. */
  undoRotation(undo: { linkId: string; rotated: { keyVersion: number; pskCiphertext: string }; restore: Pick<LinkRecord, 'pskCiphertext' | 'keyVersion' | 'keyRotatedAt' | 'state' | 'stateReason'> }): Promise<void>;
  /**
   * Records the operator's DELETE: state deleting and the time of the first request (kept on
   * repeats). 'missing' for an unknown link, 'deleted' for one already deleted.
   */
  requestDelete(id: string, at: Date): Promise<{ link: LinkWithEnds; first: boolean } | 'missing' | 'deleted'>;
  /** An agent's report about its end of the tunnel; false when the link is deleted or not the gateway's. */
  setTunnelUp(linkId: string, gatewayId: string, up: boolean, at: Date): Promise<boolean>;
  /** Ids of up links whose key was made before `before`, oldest key first. */
  dueForKeyRotation(before: Date, take: number): Promise<string[]>;
  /** Links left deleting or updating since before `before`, longest first: their signal may be lost. */
  pendingIntents(before: Date, take: number): Promise<PendingIntent[]>;
  /** PSKs not sealed in the current format (`sealedPrefix`), to be re-sealed. */
  pskCiphertextsOutside(sealedPrefix: string): Promise<Array<{ id: string; pskCiphertext: string }>>;
  /** Replaces a PSK ciphertext if it is still `from`; whether it did. */
  replacePsk(id: string, from: string, to: string): Promise<boolean>;
}

const COLUMNS = raw(
  ['id', 'aId', 'bId', 'activePairKey', 'state', 'stateReason', 'aCidrs', 'bCidrs', 'pskCiphertext', 'workflowId', 'keyVersion', 'keyRotatedAt', 'aTunnelUp', 'bTunnelUp', 'createdAt', 'updatedAt', 'deletedAt', 'deleteRequestedAt']
    .map((column) => `"${column}"`)
    .join(', '),
);

/** A stored row (model API or raw read) as a record; the CIDR columns parsed here, once. */
export function decodeLink(row: Record<string, unknown>): LinkRecord {
  const id = text(row.id);
  return {
    id,
    aId: text(row.aId),
    bId: text(row.bId),
    activePairKey: optionalText(row.activePairKey),
    state: text(row.state),
    stateReason: optionalText(row.stateReason),
    aCidrs: parseColumn(StringList, text(row.aCidrs), { table: 'Link', column: 'aCidrs', id }),
    bCidrs: parseColumn(StringList, text(row.bCidrs), { table: 'Link', column: 'bCidrs', id }),
    pskCiphertext: text(row.pskCiphertext),
    workflowId: text(row.workflowId),
    keyVersion: int(row.keyVersion),
    keyRotatedAt: date(row.keyRotatedAt),
    aTunnelUp: bool(row.aTunnelUp),
    bTunnelUp: bool(row.bTunnelUp),
    createdAt: date(row.createdAt),
    updatedAt: date(row.updatedAt),
    deletedAt: optionalDate(row.deletedAt),
    deleteRequestedAt: optionalDate(row.deleteRequestedAt),
  };
}


export function linkStore(conn: Conn): LinkStore {
  const { prisma } = conn;

  const rowsOf = async (query: Sql): Promise<LinkRecord[]> => (await conn.rows<Record<string, unknown>>(query)).map(decodeLink);

  const get = async (id: string): Promise<LinkRecord | undefined> => (await rowsOf(sql`SELECT ${COLUMNS} FROM "Link" WHERE "id" = ${id}`))[0];

  const liveOf = (gatewayIds: readonly string[], exceptLink?: string): Promise<LinkRecord[]> => {
    if (gatewayIds.length === 0) return Promise.resolve([]);
    const ids = join([...gatewayIds]);
    return rowsOf(sql`SELECT ${COLUMNS} FROM "Link" WHERE "deletedAt" IS NULL AND ("aId" IN (${ids}) OR "bId" IN (${ids}))${exceptLink ? sql` AND "id" <> ${exceptLink}` : empty}`);
  };

  /** Both ends of some links, read at once. */
  const attachEnds = async (links: LinkRecord[]): Promise<LinkWithEnds[]> => {
    const gateways = new Map((await gatewaysById(conn, [...new Set(links.flatMap((link) => [link.aId, link.bId]))])).map((gateway) => [gateway.id, gateway]));
    return links.map((link) => ({ ...link, a: gateways.get(link.aId)!, b: gateways.get(link.bId)! }));
  };

  const withEnds = async (id: string): Promise<LinkWithEnds | undefined> => {
    // The link and its two gateways in two reads side by side (on PostgreSQL, two pool connections).
    const [link, ends] = await Promise.all([get(id), gatewaysWhere(conn, sql`"id" IN (SELECT "aId" FROM "Link" WHERE "id" = ${id} UNION SELECT "bId" FROM "Link" WHERE "id" = ${id})`)]);
    if (!link) return undefined;
    const a = ends.find((gateway) => gateway.id === link.aId);
    const b = ends.find((gateway) => gateway.id === link.bId);
    // Gateways cannot go away under a link (foreign keys), so both are there.
    if (!a || !b) throw new Error(`link ${id}: gateway ${a ? link.bId : link.aId} not found`);
    return { ...link, a, b };
  };

  return {
    get,
    withEnds,

    async events(id) {
      const rows = await conn.rows<Record<string, unknown>>(sql`SELECT "id", "at", "type", "message", "data" FROM "LinkEvent" WHERE "linkId" = ${id} ORDER BY "id"`);
      return rows.map(decodeEvent);
    },

    async list(options) {
      // Raw reads (the console loads every link at once): the links, then their gateways in one
      // read by subquery, not by a list of ids that could outgrow SQLite's parameter limit.
      const live = options.includeDeleted ? empty : sql`WHERE "deletedAt" IS NULL`;
      const [links, ends] = await Promise.all([
        rowsOf(sql`SELECT ${COLUMNS} FROM "Link" ${live} ORDER BY "createdAt", "id"`),
        gatewaysWhere(conn, sql`"id" IN (SELECT "aId" FROM "Link" ${live} UNION SELECT "bId" FROM "Link" ${live})`),
      ]);
      const byId = new Map(ends.map((gateway) => [gateway.id, gateway]));
      // A link created between the two reads has ends the second read did not see: it waits for the next list.
      return links.flatMap((link) => {
        const a = byId.get(link.aId);
        const b = byId.get(link.bId);
        return a && b ? [{ ...link, a, b }] : [];
      });
    },

    liveOf,

    async liveWithEndsOf(gatewayId) {
      return attachEnds(await liveOf([gatewayId]));
    },

    async create(link, event, at) {
      // Raw statements: the model API's nested create costs a compiled INSERT, a compiled event
      // INSERT and a compiled re-read, once per link on the API's busiest path.
      const [row] = await conn.rows<Record<string, unknown>>(
        sql`INSERT INTO "Link" ("id", "aId", "bId", "activePairKey", "state", "aCidrs", "bCidrs", "pskCiphertext", "workflowId", "keyVersion", "keyRotatedAt", "aTunnelUp", "bTunnelUp", "createdAt", "updatedAt")
            VALUES (${link.id}, ${link.aId}, ${link.bId}, ${link.activePairKey}, 'provisioning', ${JSON.stringify(link.aCidrs)}, ${JSON.stringify(link.bCidrs)}, ${link.pskCiphertext}, ${link.workflowId}, 1, ${at}, false, false, ${at}, ${at})
            RETURNING ${COLUMNS}`,
      );
      await conn.batch(eventInserts(link.id, [event], at));
      return decodeLink(row!);
    },

    async removeUnstarted(id) {
      await conn.batch([sql`DELETE FROM "LinkEvent" WHERE "linkId" = ${id}`, sql`DELETE FROM "Link" WHERE "id" = ${id}`]);
    },

    async pskOf(id) {
      const [row] = await conn.rows<Record<string, unknown>>(sql`SELECT "pskCiphertext" FROM "Link" WHERE "id" = ${id}`);
      return row ? text(row.pskCiphertext) : undefined;
    },

    async addEvents(linkId, events, at) {
      await conn.batch(eventInserts(linkId, events, at));
    },

    async addEvent(linkId, event, at) {
      const [insert, ...audit] = eventInserts(linkId, [event], at);
      const add = async (inner: Conn) => {
        const [row] = await inner.rows<Record<string, unknown>>(sql`${insert!} RETURNING "id"`);
        await inner.batch(audit);
        return int(row!.id);
      };
      return audit.length ? conn.atomically(add) : add(conn);
    },

    async removeEvent(id) {
      await conn.execute(sql`DELETE FROM "LinkEvent" WHERE "id" = ${id}`);
    },

    async setState(step, at) {
      const routes = routeOutcomeWrites(step.routes ?? [], at);
      // A recorded delete wins over whatever the workflow was finishing (a late "up", say).
      const guard = DELETE_STATES.has(step.state) ? empty : sql` AND "deleteRequestedAt" IS NULL`;
      const counts = await conn.batch([
        ...routes,
        sql`UPDATE "Link" SET "state" = ${step.state}, "stateReason" = ${step.reason ?? null}, "updatedAt" = ${at} WHERE "id" = ${step.linkId}${guard}`,
        ...eventInserts(step.linkId, step.events ?? [], at),
      ]);
      return counts[routes.length] === 1;
    },

    async revertCidrs(linkId, cidrs, event, at) {
      await conn.batch([
        sql`UPDATE "Link" SET "aCidrs" = ${JSON.stringify(cidrs.a)}, "bCidrs" = ${JSON.stringify(cidrs.b)}, "updatedAt" = ${at} WHERE "id" = ${linkId}`,
        ...eventInserts(linkId, [event], at),
      ]);
    },

    async finishDelete(linkId, event, at) {
      await conn.batch([
        sql`UPDATE "Link" SET "state" = 'deleted', "stateReason" = NULL, "activePairKey" = NULL, "deletedAt" = ${at}, "aTunnelUp" = ${false}, "bTunnelUp" = ${false}, "updatedAt" = ${at} WHERE "id" = ${linkId}`,
        ...eventInserts(linkId, [event], at),
      ]);
    },

    async requestChange(change, at) {
      const { count } = await prisma.link.updateMany({
        where: { id: change.linkId, state: change.fromState, deletedAt: null, deleteRequestedAt: null },
        data: { aCidrs: JSON.stringify(change.aCidrs), bCidrs: JSON.stringify(change.bCidrs), state: 'updating', stateReason: null, updatedAt: at },
      });
      return count === 1;
    },

    async rotateKey(rotation, at) {
      const { count } = await prisma.link.updateMany({
        where: { id: rotation.linkId, state: rotation.fromState, keyVersion: rotation.fromKeyVersion, deletedAt: null, deleteRequestedAt: null },
        data: { pskCiphertext: rotation.pskCiphertext, keyVersion: { increment: 1 }, keyRotatedAt: at, state: 'updating', stateReason: null },
      });
      return count === 1;
    },

    async undoRotation(undo) {
      await prisma.link.updateMany({
        // A delete accepted meanwhile keeps its state: the link is going anyway.
        where: { id: undo.linkId, keyVersion: undo.rotated.keyVersion, pskCiphertext: undo.rotated.pskCiphertext, deleteRequestedAt: null },
        data: undo.restore,
      });
    },

    requestDelete: (id, at) =>
      conn.atomically(async (inner) => {
        // Conditional: a deleted link stays deleted; the first request's time is kept on repeats.
        const [row] = await inner.rows<Record<string, unknown>>(sql`
          UPDATE "Link" SET "state" = 'deleting', "stateReason" = NULL, "deleteRequestedAt" = COALESCE("deleteRequestedAt", ${at}), "updatedAt" = ${at}
           WHERE "id" = ${id} AND "deletedAt" IS NULL AND "state" <> 'deleted'
          RETURNING "deleteRequestedAt"`);
        const within = linkStore(inner);
        if (!row) return (await within.get(id)) ? 'deleted' : 'missing';
        const first = date(row.deleteRequestedAt).getTime() === at.getTime();
        if (first) await inner.batch(eventInserts(id, [{ type: 'link.delete_requested', message: 'delete requested; the link is torn down by its workflow' }], at));
        const link = await within.withEnds(id);
        return { link: link!, first };
      }),

    async setTunnelUp(linkId, gatewayId, up, at) {
      // One statement whichever end the gateway is; none lands on a deleted link or on a link the
      // gateway is not part of (a report about someone else's link).
      const changed = await conn.execute(sql`UPDATE "Link"
        SET "aTunnelUp" = CASE WHEN "aId" = ${gatewayId} THEN ${up} ELSE "aTunnelUp" END,
            "bTunnelUp" = CASE WHEN "bId" = ${gatewayId} THEN ${up} ELSE "bTunnelUp" END,
            "updatedAt" = ${at}
        WHERE "id" = ${linkId} AND "deletedAt" IS NULL AND ("aId" = ${gatewayId} OR "bId" = ${gatewayId})`);
      return changed > 0;
    },

    async dueForKeyRotation(before, take) {
      const due = await prisma.link.findMany({ where: { state: 'up', deletedAt: null, keyRotatedAt: { lt: before } }, orderBy: { keyRotatedAt: 'asc' }, take, select: { id: true } });
      return due.map((link) => link.id);
    },

    async pendingIntents(before, take) {
      const rows = await prisma.link.findMany({
        where: { state: { in: ['deleting', 'updating'] }, deletedAt: null, updatedAt: { lt: before } },
        orderBy: { updatedAt: 'asc' },
        take,
        select: { id: true, workflowId: true, state: true, updatedAt: true },
      });
      return rows.map((row) => ({ id: row.id, workflowId: row.workflowId, intent: row.state === 'deleting' ? 'delete' : 'change', since: row.updatedAt }));
    },

    async pskCiphertextsOutside(sealedPrefix) {
      return prisma.link.findMany({ where: { NOT: { pskCiphertext: { startsWith: sealedPrefix } } }, select: { id: true, pskCiphertext: true } });
    },

    async replacePsk(id, from, to) {
      return (await prisma.link.updateMany({ where: { id, pskCiphertext: from }, data: { pskCiphertext: to } })).count === 1;
    },
  };
}
