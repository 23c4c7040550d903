// The cloud-accounts aggregate: which provider, the sealed credentials (never decrypted here) and
// the endpoint overrides, parsed once here and checked against the controller's policy at use.
import { duplicates, type Conn } from './conn';
import { Endpoints, tryParseColumn } from './json';

export interface AccountRecord {
  id: string;
  name: string;
  /** "aliyun" | "aws" */
  provider: string;
  /** AES-256-GCM sealed JSON credentials (lib/crypto), or null: the provider's default chain. */
  credentialsCiphertext: string | null;
  /** Endpoint overrides by service; `malformed` when the stored column is not a map of URLs. */
  endpoints: { set: Record<string, string> | null } | { malformed: true };
  createdAt: Date;
}

export interface NewAccount {
  id: string;
  name: string;
  provider: string;
  credentialsCiphertext: string | null;
  endpoints: Record<string, string> | null;
}

export interface AccountStore {
  get(id: string): Promise<AccountRecord | undefined>;
  /** Every account, oldest first. */
  list(): Promise<AccountRecord[]>;
  /** DuplicateError when the name is taken. */
  create(account: NewAccount): Promise<AccountRecord>;
  /** Removes an account no gateway uses; otherwise the gateways that do (nothing removed). */
  removeUnused(id: string): Promise<{ removed: true } | { usedBy: string[] }>;
  /** Credentials not sealed in the current format (`sealedPrefix`), to be re-sealed. */
  credentialsOutside(sealedPrefix: string): Promise<Array<{ id: string; credentialsCiphertext: string }>>;
  /** Replaces a credentials ciphertext if it is still `from`; whether it did. */
  replaceCredentials(id: string, from: string, to: string): Promise<boolean>;
}

interface AccountRow {
  id: string;
  name: string;
  provider: string;
  credentialsCiphertext: string | null;
  endpoints: string | null;
  createdAt: Date;
}

function decodeAccount(row: AccountRow): AccountRecord {
  const parsed = row.endpoints === null ? undefined : tryParseColumn(Endpoints, row.endpoints);
  const endpoints = row.endpoints === null ? { set: null } : parsed ? { set: parsed } : { malformed: true as const };
  return { id: row.id, name: row.name, provider: row.provider, credentialsCiphertext: row.credentialsCiphertext, endpoints, createdAt: row.createdAt };
}

export function accountStore(conn: Conn): AccountStore {
  const { prisma } = conn;
  return {
    async get(id) {
      const row = await prisma.cloudAccount.findUnique({ where: { id } });
      return row ? decodeAccount(row) : undefined;
    },

    async list() {
      return (await prisma.cloudAccount.findMany({ orderBy: { createdAt: 'asc' } })).map(decodeAccount);
    },

    async create(account) {
      const row = await duplicates(prisma.cloudAccount.create({ data: { ...account, endpoints: account.endpoints ? JSON.stringify(account.endpoints) : null } }));
      return decodeAccount(row);
    },

    removeUnused: (id) =>
      conn.atomically(async (inner) => {
        const users = await inner.prisma.gateway.findMany({ where: { accountId: id }, select: { id: true } });
        if (users.length) return { usedBy: users.map((gateway) => gateway.id) };
        await inner.prisma.cloudAccount.delete({ where: { id } });
        return { removed: true as const };
      }),

    async credentialsOutside(sealedPrefix) {
      const rows = await prisma.cloudAccount.findMany({ where: { NOT: [{ credentialsCiphertext: null }, { credentialsCiphertext: { startsWith: sealedPrefix } }] }, select: { id: true, credentialsCiphertext: true } });
      return rows.flatMap((row) => (row.credentialsCiphertext ? [{ id: row.id, credentialsCiphertext: row.credentialsCiphertext }] : []));
    },

    async replaceCredentials(id, from, to) {
      return (await prisma.cloudAccount.updateMany({ where: { id, credentialsCiphertext: from }, data: { credentialsCiphertext: to } })).count === 1;
    },
  };
}
