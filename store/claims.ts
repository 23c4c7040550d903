// The cloud-claims aggregate: ownership records of the routes and security-group rules links need,
// written before any cloud call so that deletion removes exactly what the controller made.
import type { CloudRef, PeerRule, RouteSpec } from '../cloud/types';
import { bool, int, join, optionalText, sql, text, type Conn, type Sql } from './conn';
import { eventInserts, type LinkEventInput } from './events';

/** A route a link claimed: what it points at, and whether the cloud call happened. */
export interface StoredRouteClaim {
  id: number;
  route: RouteSpec;
  /** The identical route existed before the link: it stays when the link goes. */
  preexisting: boolean;
  /** creating: recorded, the cloud call may not have happened; present: written (or adopted). */
  state: string;
}

/**
 * A route claim's outcome: written (`preexisting` when the route was there before us) or gone;
 * `instanceId` when the route now points at another instance (re-pointed in place).
 */
export type RouteOutcome = { id: number; state: 'present' | 'deleted'; preexisting?: boolean; instanceId?: string };

export interface ClaimStore {
  /**
   * Claims a link's routes on one gateway, or refuses (recording nothing) when another live link
   * owns one of them. Routes the link already claimed are returned as they are.
   */
  claimRoutes(claim: { linkId: string; gatewayId: string; ref: CloudRef; routes: RouteSpec[] }, at: Date): Promise<{ claims: StoredRouteClaim[] } | { conflict: string }>;
  /** Records route outcomes and, after them, link events, in one transaction. */
  markRoutes(linkId: string, outcomes: RouteOutcome[], events: LinkEventInput[], at: Date): Promise<void>;
  /** The link's routes on one gateway that are not deleted, oldest first. */
  routesOf(linkId: string, gatewayId: string): Promise<StoredRouteClaim[]>;
  /** Records that a link needs a peer rule (idempotent: an unreleased identical claim is kept). */
  claimRule(claim: { linkId: string; gatewayId: string } & PeerRule, at: Date): Promise<void>;
  /**
   * Releases a link's rule claims on one gateway (all, or all but those for `keepPeerIp`); returns
   * the rules no other link needs any more and how many others still hold.
   */
  releaseRules(linkId: string, gatewayId: string, keepPeerIp?: string): Promise<{ unneeded: PeerRule[]; kept: number }>;
  /** Those of `rules` that no link claims right now. */
  unclaimedRules(rules: PeerRule[]): Promise<PeerRule[]>;
  /**
   * What the link holds in the clouds now, for a delete's confirmation: its routes (preexisting
   * ones stay when it goes) and its rules, each with the other links that hold the same rule.
   */
  heldBy(linkId: string): Promise<HeldClaims>;
}

export interface HeldClaims {
  routes: Array<{ gatewayId: string; route: RouteSpec; preexisting: boolean }>;
  rules: Array<{ gatewayId: string; rule: PeerRule; sharedWith: string[] }>;
}

/** "<provider>|<account>|<table>|<cidr>" while a claim is live: one owner per route. */
const activeKey = (ref: CloudRef, route: Pick<RouteSpec, 'routeTableId' | 'destinationCidr'>) => `${ref.provider}|${ref.accountId}|${route.routeTableId}|${route.destinationCidr}`;

function decodeRouteClaim(row: Record<string, unknown>): StoredRouteClaim {
  return {
    id: int(row.id),
    route: { routeTableId: text(row.routeTableId), destinationCidr: text(row.destinationCidr), instanceId: text(row.instanceId) },
    preexisting: bool(row.preexisting),
    state: text(row.state),
  };
}

/**
 * The writes recording route outcomes: one statement per distinct outcome, whatever the number of
 * routes (a link's routes usually share one).
 */
export function routeOutcomeWrites(outcomes: RouteOutcome[], at: Date): Sql[] {
  const groups = new Map<string, { outcome: RouteOutcome; ids: number[] }>();
  for (const outcome of outcomes) {
    const key = `${outcome.state}|${String(outcome.preexisting)}|${outcome.instanceId ?? ''}`;
    const group = groups.get(key) ?? { outcome, ids: [] };
    group.ids.push(outcome.id);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ outcome, ids }) => {
    const sets = [
      sql`"state" = ${outcome.state}`,
      sql`"updatedAt" = ${at}`,
      ...(outcome.preexisting !== undefined ? [sql`"preexisting" = ${outcome.preexisting}`] : []),
      ...(outcome.instanceId ? [sql`"instanceId" = ${outcome.instanceId}`] : []),
      ...(outcome.state === 'deleted' ? [sql`"activeKey" = NULL`] : []),
    ];
    return sql`UPDATE "RouteClaim" SET ${join(sets)} WHERE "id" IN (${join(ids)})`;
  });
}

const CLAIM_COLUMNS = sql`"id", "linkId", "routeTableId", "destinationCidr", "instanceId", "preexisting", "state", "activeKey"`;

export function claimStore(conn: Conn): ClaimStore {
  return {
    async heldBy(linkId) {
      const [routes, rules] = await Promise.all([
        conn.rows<Record<string, unknown>>(
          sql`SELECT "gatewayId", "routeTableId", "destinationCidr", "instanceId", "preexisting" FROM "RouteClaim" WHERE "linkId" = ${linkId} AND "state" <> 'deleted' ORDER BY "id"`,
        ),
        conn.rows<Record<string, unknown>>(
          sql`SELECT c."gatewayId", c."securityGroupId", c."peerIp", c."description", o."linkId" AS "other"
              FROM "PeerRuleClaim" c
              LEFT JOIN "PeerRuleClaim" o ON o."securityGroupId" = c."securityGroupId" AND o."peerIp" = c."peerIp" AND o."released" = ${false} AND o."linkId" <> c."linkId"
              WHERE c."linkId" = ${linkId} AND c."released" = ${false}
              ORDER BY c."id"`,
        ),
      ]);
      const held: HeldClaims = {
        routes: routes.map((row) => ({
          gatewayId: text(row.gatewayId),
          route: { routeTableId: text(row.routeTableId), destinationCidr: text(row.destinationCidr), instanceId: text(row.instanceId) },
          preexisting: bool(row.preexisting),
        })),
        rules: [],
      };
      // One row per (claim, other holder): fold them into one rule each.
      const byRule = new Map<string, HeldClaims['rules'][number]>();
      for (const row of rules) {
        const key = `${text(row.gatewayId)}|${text(row.securityGroupId)}|${text(row.peerIp)}`;
        let rule = byRule.get(key);
        if (!rule) {
          rule = { gatewayId: text(row.gatewayId), rule: { securityGroupId: text(row.securityGroupId), peerIp: text(row.peerIp), description: text(row.description) }, sharedWith: [] };
          byRule.set(key, rule);
          held.rules.push(rule);
        }
        const other = optionalText(row.other);
        if (other && !rule.sharedWith.includes(other)) rule.sharedWith.push(other);
      }
      return held;
    },

    async claimRoutes(claim, at) {
      if (claim.routes.length === 0) return { claims: [] };
      const keys = claim.routes.map((route) => activeKey(claim.ref, route));
      const held = new Map(
        (await conn.rows<Record<string, unknown>>(sql`SELECT ${CLAIM_COLUMNS} FROM "RouteClaim" WHERE "activeKey" IN (${join(keys)})`)).map((row) => [text(row.activeKey), row]),
      );
      for (const [index, key] of keys.entries()) {
        const owner = held.get(key);
        if (owner && text(owner.linkId) !== claim.linkId) {
          const route = claim.routes[index]!;
          return { conflict: `route ${route.destinationCidr} in ${route.routeTableId} is already managed for link ${text(owner.linkId)}` };
        }
      }
      const missing = new Map<string, RouteSpec>();
      for (const [index, key] of keys.entries()) if (!held.has(key)) missing.set(key, claim.routes[index]!);
      if (missing.size) {
        // One statement for all of them, and no transaction: a concurrent claim of the same route
        // fails this one on the unique key (DuplicateError), and the activity's retry then finds
        // the owner, as with a claim that lost the race before the read.
        const values = [...missing].map(
          ([key, route]) =>
            sql`(${claim.linkId}, ${claim.gatewayId}, ${claim.ref.provider}, ${claim.ref.accountId}, ${claim.ref.region}, ${route.routeTableId}, ${route.destinationCidr}, ${route.instanceId}, 'creating', ${false}, ${key}, ${at}, ${at})`,
        );
        const created = await conn.rows<Record<string, unknown>>(
          sql`INSERT INTO "RouteClaim" ("linkId", "gatewayId", "provider", "accountId", "region", "routeTableId", "destinationCidr", "instanceId", "state", "preexisting", "activeKey", "createdAt", "updatedAt")
              VALUES ${join(values)} RETURNING ${CLAIM_COLUMNS}`,
        );
        for (const row of created) held.set(text(row.activeKey), row);
      }
      return { claims: keys.map((key) => decodeRouteClaim(held.get(key)!)) };
    },

    async markRoutes(linkId, outcomes, events, at) {
      await conn.batch([...routeOutcomeWrites(outcomes, at), ...eventInserts(linkId, events, at)]);
    },

    async routesOf(linkId, gatewayId) {
      const rows = await conn.rows<Record<string, unknown>>(
        sql`SELECT ${CLAIM_COLUMNS} FROM "RouteClaim" WHERE "linkId" = ${linkId} AND "gatewayId" = ${gatewayId} AND "state" <> 'deleted' ORDER BY "id"`,
      );
      return rows.map(decodeRouteClaim);
    },

    async claimRule(claim, at) {
      // Read, then insert: two links claiming the same rule both hold a claim (that is the point);
      // the same link claiming twice at once is one workflow retrying, which never overlaps.
      const [held] = await conn.rows<Record<string, unknown>>(
        sql`SELECT "id" FROM "PeerRuleClaim"
             WHERE "linkId" = ${claim.linkId} AND "gatewayId" = ${claim.gatewayId} AND "securityGroupId" = ${claim.securityGroupId} AND "peerIp" = ${claim.peerIp} AND "released" = ${false}
             LIMIT 1`,
      );
      if (held) return;
      await conn.execute(
        sql`INSERT INTO "PeerRuleClaim" ("linkId", "gatewayId", "securityGroupId", "peerIp", "description", "released", "createdAt")
            VALUES (${claim.linkId}, ${claim.gatewayId}, ${claim.securityGroupId}, ${claim.peerIp}, ${claim.description}, ${false}, ${at})`,
      );
    },

    releaseRules: (linkId, gatewayId, keepPeerIp) =>
      conn.atomically(async (inner) => {
        const prisma = inner.prisma;
        const mine = await prisma.peerRuleClaim.findMany({ where: { linkId, gatewayId, released: false, ...(keepPeerIp ? { NOT: { peerIp: keepPeerIp } } : {}) } });
        await prisma.peerRuleClaim.updateMany({ where: { id: { in: mine.map((claim) => claim.id) } }, data: { released: true } });
        const unneeded: PeerRule[] = [];
        let kept = 0;
        for (const claim of mine) {
          const others = await prisma.peerRuleClaim.count({ where: { securityGroupId: claim.securityGroupId, peerIp: claim.peerIp, released: false } });
          if (others === 0) unneeded.push({ securityGroupId: claim.securityGroupId, peerIp: claim.peerIp, description: claim.description });
          else kept++;
        }
        return { unneeded, kept };
      }),

    async unclaimedRules(rules) {
      if (rules.length === 0) return [];
      const held = await conn.prisma.peerRuleClaim.findMany({
        where: { released: false, OR: rules.map((rule) => ({ securityGroupId: rule.securityGroupId, peerIp: rule.peerIp })) },
        select: { securityGroupId: true, peerIp: true },
      });
      const claimed = new Set(held.map((claim) => `${claim.securityGroupId}|${claim.peerIp}`));
      return rules.filter((rule) => !claimed.has(`${rule.securityGroupId}|${rule.peerIp}`));
    },
  };
}
