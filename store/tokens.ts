// The API-tokens aggregate (table ApiToken): only the token's SHA-256 is stored; the token itself
// is shown once, when it is issued (api/tokens.ts).
import { duplicates, type Conn } from './conn';

export interface ApiTokenRecord {
  id: string;
  name: string;
  /** "admin" | "operator" | "viewer" | "auditor" (api/roles.ts checks it on every use). */
  role: string;
  tokenHash: string;
  prefix: string;
  expiresAt: Date | null;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export type NewApiToken = Pick<ApiTokenRecord, 'id' | 'name' | 'role' | 'tokenHash' | 'prefix' | 'expiresAt' | 'createdBy'>;

export interface TokenStore {
  create(token: NewApiToken): Promise<ApiTokenRecord>;
  get(id: string): Promise<ApiTokenRecord | undefined>;
  /** The token with this hash, revoked and expired ones included (the caller decides). */
  byHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  /** Every token, newest first. */
  list(): Promise<ApiTokenRecord[]>;
  /** Sets revokedAt if it is not set yet; whether this call revoked it. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Records a use (callers bound how often). */
  touch(id: string, at: Date): Promise<void>;
  /** Whether any token is not revoked (expired ones count: an expiry must not reopen the API). */
  anyUnrevoked(): Promise<boolean>;
}

export function tokenStore(conn: Conn): TokenStore {
  const { prisma } = conn;
  return {
    create: (token) => duplicates(prisma.apiToken.create({ data: token })),
    get: async (id) => (await prisma.apiToken.findUnique({ where: { id } })) ?? undefined,
    byHash: async (tokenHash) => (await prisma.apiToken.findUnique({ where: { tokenHash } })) ?? undefined,
    list: () => prisma.apiToken.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] }),
    revoke: async (id, at) => (await prisma.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } })).count === 1,
    async touch(id, at) {
      await prisma.apiToken.updateMany({ where: { id }, data: { lastUsedAt: at } });
    },
    anyUnrevoked: async () => (await prisma.apiToken.findFirst({ where: { revokedAt: null }, select: { id: true } })) !== null,
  };
}
