// The gateways aggregate: sites as registered, discovered (cloud) and seen by the hub, and the
// enrolment tokens issued for them. JSON columns come back parsed (cidrs, route tables, facts).
import { bool, date, duplicates, join, optionalBool, optionalDate, optionalText, raw, sql, text, type Conn, type Sql } from './conn';
import { StoredFacts, StringList, parseColumn, tryParseColumn } from './json';

export interface GatewayRecord {
  id: string;
  name: string;
  /** "onprem" or a cloud provider's name. */
  provider: string;
  /** The networks behind the gateway. */
  cidrs: string[];
  /** Given by the operator (on-prem) or the address discovery started from (cloud). */
  publicIp: string | null;
  /** Whether peers can reach the site, as the operator stated it; null: not stated. */
  inbound: boolean | null;
  online: boolean;
  lastSeenAt: Date | null;
  observedIp: string | null;
  /** What the agent reported in its hello (null: nothing yet, or nothing readable). */
  facts: StoredFacts | null;
  hubInstance: string | null;
  /** ready | discovering | failed. */
  state: string;
  stateReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  accountId: string | null;
  region: string | null;
  /** Route tables the operator asked for; null: every table of the VPC. */
  routeTablesWanted: string[] | null;
  instanceId: string | null;
  privateIp: string | null;
  vpcId: string | null;
  subnetId: string | null;
  /** Route tables routes are written to, and the instance's security groups ([] until discovered). */
  routeTableIds: string[];
  securityGroupIds: string[];
  discoveredAt: Date | null;
}

/** Where a gateway's agent is connected, as the hub last recorded it. */
export interface GatewayPresence {
  online: boolean;
  hubInstance: string | null;
  lastSeenAt: Date | null;
}

export interface NewGateway {
  id: string;
  name: string;
  provider: string;
  cidrs: string[];
  publicIp: string | null;
  inbound?: boolean | null;
  /** sha256 of the agent secret; the secret itself is never stored. */
  secretHash: string;
  /** Cloud gateways: the account and region, discovered later from the public IP. */
  cloud?: { accountId: string; region: string; routeTablesWanted: string[] | null };
}

/** What discovery found, as the gateway's truth. */
export interface DiscoveryResult {
  cidrs: string[];
  instanceId: string;
  privateIp: string;
  vpcId: string;
  subnetId: string;
  routeTableIds: string[];
  securityGroupIds: string[];
  /** The whole discovery answer, kept for display. */
  discovered: unknown;
}

export interface GatewayStore {
  /** One gateway, or undefined. */
  get(id: string): Promise<GatewayRecord | undefined>;
  /** The gateways among `ids` that exist (any order). */
  getMany(ids: readonly string[]): Promise<GatewayRecord[]>;
  /** Every gateway, oldest first. */
  list(): Promise<GatewayRecord[]>;
  /** Stores a new gateway; DuplicateError when the name is taken. */
  create(gateway: NewGateway): Promise<GatewayRecord>;
  /** Removes a gateway that nothing refers to yet (its registration could not be completed). */
  remove(id: string): Promise<void>;
  /**
   * Deletes a gateway that no live link uses, with its enrolment tokens and the rows of its
   * deleted links (their events included): 'missing' for an unknown gateway, or the live links
   * that keep it. Run it in a transaction with the check that led to it.
   */
  delete(id: string): Promise<'deleted' | 'missing' | { liveLinks: string[] }>;
  /** Renames a gateway and/or replaces its networks; DuplicateError when the name is taken. */
  update(id: string, change: { name?: string; cidrs?: string[] }): Promise<GatewayRecord>;
  /**
   * Replaces the agent secret's hash, and drops unused enrolment tokens (they would set a secret
   * of their own); false for an unknown gateway.
   */
  rotateSecret(id: string, secretHash: string): Promise<boolean>;
  /** The operator's statement of where the site can be reached (null clears a field). */
  setReachability(id: string, reach: { publicIp: string | null; inbound: boolean | null }): Promise<GatewayRecord>;
  /** Where a gateway's agent is connected, or undefined for an unknown gateway. */
  locate(id: string): Promise<GatewayPresence | undefined>;
  /** Discovery's result becomes the gateway's truth (state ready). */
  applyDiscovery(id: string, result: DiscoveryResult, at: Date): Promise<void>;
  /** Discovery failed: state failed with the reason, and nothing discovery sets is kept. */
  failDiscovery(id: string, reason: string, at: Date): Promise<void>;
  /**
   * The gateway now runs on another instance of the same VPC; false (nothing written) when the
   * gateway is no longer ready in that VPC.
   */
  followInstance(id: string, moved: Omit<DiscoveryResult, 'cidrs' | 'routeTableIds'>, at: Date): Promise<boolean>;
  /** Each (provider, account, region) some gateway uses: the cloud budgets to serve. */
  budgetTargets(): Promise<Array<{ provider: string; accountId: string; region: string }>>;
  /**
   * Stores a new enrolment token for a gateway, replacing its unused ones; false when the gateway
   * does not exist.
   */
  issueEnrolmentToken(token: { id: string; gatewayId: string; tokenHash: string; expiresAt: Date }): Promise<boolean>;
}

/** Every column a record is read from (the secret hash and the raw discovery answer are not). */
const COLUMNS = raw(
  ['id', 'name', 'provider', 'cidrs', 'publicIp', 'inbound', 'online', 'lastSeenAt', 'observedIp', 'facts', 'hubInstance', 'state', 'stateReason', 'createdAt', 'updatedAt',
    'accountId', 'region', 'routeTablesWanted', 'instanceId', 'privateIp', 'vpcId', 'subnetId', 'routeTableIds', 'securityGroupIds', 'discoveredAt']
    .map((column) => `"${column}"`)
    .join(', '),
);

/** The facts column, leniently: null when empty or unreadable (see StoredFacts). */
export function readFacts(stored: string | null): StoredFacts | null {
  return stored === null ? null : (tryParseColumn(StoredFacts, stored) ?? null);
}

/** A stored row (from the model API or a raw read) as a record; JSON columns parsed here, once. */
export function decodeGateway(row: Record<string, unknown>): GatewayRecord {
  const id = text(row.id);
  const list = (column: string): string[] | null => {
    const stored = optionalText(row[column]);
    return stored === null ? null : parseColumn(StringList, stored, { table: 'Gateway', column, id });
  };
  return {
    id,
    name: text(row.name),
    provider: text(row.provider),
    cidrs: list('cidrs') ?? [],
    publicIp: optionalText(row.publicIp),
    inbound: optionalBool(row.inbound),
    online: bool(row.online),
    lastSeenAt: optionalDate(row.lastSeenAt),
    observedIp: optionalText(row.observedIp),
    facts: readFacts(optionalText(row.facts)),
    hubInstance: optionalText(row.hubInstance),
    state: text(row.state),
    stateReason: optionalText(row.stateReason),
    createdAt: date(row.createdAt),
    updatedAt: date(row.updatedAt),
    accountId: optionalText(row.accountId),
    region: optionalText(row.region),
    routeTablesWanted: list('routeTablesWanted'),
    instanceId: optionalText(row.instanceId),
    privateIp: optionalText(row.privateIp),
    vpcId: optionalText(row.vpcId),
    subnetId: optionalText(row.subnetId),
    routeTableIds: list('routeTableIds') ?? [],
    securityGroupIds: list('securityGroupIds') ?? [],
    discoveredAt: optionalDate(row.discoveredAt),
  };
}

/** Raw read of the gateways a condition selects (the plan's hot path reads both ends this way). */
export async function gatewaysWhere(conn: Conn, condition: Sql): Promise<GatewayRecord[]> {
  return (await conn.rows<Record<string, unknown>>(sql`SELECT ${COLUMNS} FROM "Gateway" WHERE ${condition}`)).map(decodeGateway);
}

export function gatewaysById(conn: Conn, ids: readonly string[]): Promise<GatewayRecord[]> {
  return ids.length === 0 ? Promise.resolve([]) : gatewaysWhere(conn, sql`"id" IN (${join([...ids])})`);
}

export function gatewayStore(conn: Conn): GatewayStore {
  const { prisma } = conn;
  return {
    async get(id) {
      return (await gatewaysById(conn, [id]))[0];
    },

    getMany: (ids) => gatewaysById(conn, [...new Set(ids)]),

    async list() {
      return (await conn.rows<Record<string, unknown>>(sql`SELECT ${COLUMNS} FROM "Gateway" ORDER BY "createdAt", "id"`)).map(decodeGateway);
    },

    async create(gateway) {
      const row = await duplicates(
        prisma.gateway.create({
          data: {
            id: gateway.id,
            name: gateway.name,
            provider: gateway.provider,
            cidrs: JSON.stringify(gateway.cidrs),
            publicIp: gateway.publicIp,
            inbound: gateway.inbound ?? null,
            secretHash: gateway.secretHash,
            ...(gateway.cloud
              ? {
                  accountId: gateway.cloud.accountId,
                  region: gateway.cloud.region,
                  state: 'discovering',
                  routeTablesWanted: gateway.cloud.routeTablesWanted ? JSON.stringify(gateway.cloud.routeTablesWanted) : null,
                }
              : {}),
          },
        }),
      );
      return decodeGateway(row);
    },

    async remove(id) {
      await prisma.gateway.delete({ where: { id } });
    },

    delete: (id) =>
      conn.atomically(async (inner) => {
        const gateway = await inner.prisma.gateway.findUnique({ where: { id }, select: { id: true } });
        if (!gateway) return 'missing';
        const uses = { OR: [{ aId: id }, { bId: id }] };
        const live = await inner.prisma.link.findMany({ where: { ...uses, state: { not: 'deleted' } }, select: { id: true }, orderBy: { createdAt: 'asc' } });
        if (live.length > 0) return { liveLinks: live.map((link) => link.id) };
        // Deleted links keep their history while both ends exist; a link to a gateway that no
        // longer exists has nothing left to show, and its foreign key would keep the gateway.
        const gone = (await inner.prisma.link.findMany({ where: uses, select: { id: true } })).map((link) => link.id);
        if (gone.length > 0) {
          await inner.prisma.linkEvent.deleteMany({ where: { linkId: { in: gone } } });
          await inner.prisma.link.deleteMany({ where: { id: { in: gone } } });
        }
        await inner.prisma.gateway.delete({ where: { id } });
        return 'deleted';
      }),

    async update(id, change) {
      const row = await duplicates(
        prisma.gateway.update({
          where: { id },
          data: { ...(change.name !== undefined ? { name: change.name } : {}), ...(change.cidrs !== undefined ? { cidrs: JSON.stringify(change.cidrs) } : {}) },
        }),
      );
      return decodeGateway(row);
    },

    rotateSecret: (id, secretHash) =>
      conn.atomically(async (inner) => {
        const { count } = await inner.prisma.gateway.updateMany({ where: { id }, data: { secretHash } });
        if (count === 0) return false;
        await inner.prisma.enrolmentToken.deleteMany({ where: { gatewayId: id, usedAt: null } });
        return true;
      }),

    async setReachability(id, reach) {
      return decodeGateway(await prisma.gateway.update({ where: { id }, data: { publicIp: reach.publicIp, inbound: reach.inbound } }));
    },

    async locate(id) {
      const [row] = await conn.rows<Record<string, unknown>>(sql`SELECT "online", "hubInstance", "lastSeenAt" FROM "Gateway" WHERE "id" = ${id}`);
      return row ? { online: bool(row.online), hubInstance: optionalText(row.hubInstance), lastSeenAt: optionalDate(row.lastSeenAt) } : undefined;
    },

    // Discovery's writes update only: a gateway deleted while its discovery ran stays deleted.
    async applyDiscovery(id, result, at) {
      await prisma.gateway.updateMany({
        where: { id },
        data: {
          state: 'ready',
          stateReason: null,
          cidrs: JSON.stringify(result.cidrs),
          instanceId: result.instanceId,
          privateIp: result.privateIp,
          vpcId: result.vpcId,
          subnetId: result.subnetId,
          routeTableIds: JSON.stringify(result.routeTableIds),
          securityGroupIds: JSON.stringify(result.securityGroupIds),
          discovered: JSON.stringify(result.discovered),
          discoveredAt: at,
        },
      });
    },

    async failDiscovery(id, reason, at) {
      await prisma.gateway.updateMany({
        where: { id },
        data: { state: 'failed', stateReason: reason, cidrs: '[]', instanceId: null, privateIp: null, vpcId: null, subnetId: null, routeTableIds: null, securityGroupIds: null, discovered: null, discoveredAt: at },
      });
    },

    async followInstance(id, moved, at) {
      const { count } = await prisma.gateway.updateMany({
        where: { id, state: 'ready', vpcId: moved.vpcId },
        data: {
          instanceId: moved.instanceId,
          privateIp: moved.privateIp,
          subnetId: moved.subnetId,
          securityGroupIds: JSON.stringify(moved.securityGroupIds),
          discovered: JSON.stringify(moved.discovered),
          discoveredAt: at,
        },
      });
      return count === 1;
    },

    async budgetTargets() {
      const rows = await prisma.gateway.findMany({
        where: { accountId: { not: null }, region: { not: null } },
        select: { accountId: true, region: true, account: { select: { provider: true } } },
        distinct: ['accountId', 'region'],
      });
      return rows.flatMap((row) => (row.accountId && row.region && row.account ? [{ provider: row.account.provider, accountId: row.accountId, region: row.region }] : []));
    },

    issueEnrolmentToken: (token) =>
      conn.atomically(async (inner) => {
        const gateway = await inner.prisma.gateway.findUnique({ where: { id: token.gatewayId }, select: { id: true } });
        if (!gateway) return false;
        // The newest token replaces earlier unused ones: a token asked for again was probably
        // lost, and should not stay valid somewhere.
        await inner.prisma.enrolmentToken.deleteMany({ where: { gatewayId: token.gatewayId, usedAt: null } });
        await inner.prisma.enrolmentToken.create({ data: token });
        return true;
      }),
  };
}
