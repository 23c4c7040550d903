// Where the database files live. Paths are absolute (from this file, not the cwd) so the CLI
// wrapper, prisma.config.ts and tests agree wherever they are started from.
import path from 'node:path';
import type { DatabaseKind } from './url';

export const ROOT = path.resolve(__dirname, '..');

export interface ProviderLayout {
  /** Prisma schema for this provider (the PostgreSQL one is derived from the SQLite one). */
  schema: string;
  /** Migration history: SQL differs per provider, so each has its own. */
  migrations: string;
  /** Generated client: with engineType "client" a client only accepts its own provider's adapter. */
  client: string;
}

export const LAYOUT: Record<DatabaseKind, ProviderLayout> = {
  sqlite: {
    schema: path.join(ROOT, 'prisma/schema.prisma'),
    migrations: path.join(ROOT, 'prisma/migrations'),
    client: path.join(ROOT, 'generated/prisma'),
  },
  postgresql: {
    schema: path.join(ROOT, 'prisma/postgres/schema.prisma'),
    migrations: path.join(ROOT, 'prisma/postgres/migrations'),
    client: path.join(ROOT, 'generated/prisma-pg'),
  },
};

export const KINDS: readonly DatabaseKind[] = ['sqlite', 'postgresql'];
export const PRISMA_BIN = path.join(ROOT, 'node_modules/.bin/prisma');
export const PRISMA_CONFIG = path.join(ROOT, 'prisma.config.ts');
