// Prisma CLI configuration. Prisma 6.19 migrates offline only through its WASM schema engine
// (`engine: 'js'`), which reaches the database through a driver adapter; the native engine would be
// downloaded at run time, and only the npm registry is reachable here (DESIGN.md §3).
// DATABASE_URL picks the provider, and with it the schema file and migration history. Use
// `tsx scripts/db.ts ...` rather than the raw CLI: it sets DATABASE_URL and works around CLI quirks.
import { defineConfig } from 'prisma/config';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
// Prisma 6.19's own adapter-pg cannot read the catalog (type `name`); 7.10.1 can. Runtime code keeps
// using @prisma/adapter-pg 6.19.3, the version that matches the generated client.
import { PrismaPg } from 'adapter-pg7';
import { LAYOUT } from './db/layout';
import { databaseKind, DEFAULT_DATABASE_URL, sqlitePath } from './db/url';

// The schema's datasource reads env("DATABASE_URL") for validation and messages: give it the same
// default as ours, so a bare `prisma generate` works.
process.env.DATABASE_URL ||= DEFAULT_DATABASE_URL;
const url = process.env.DATABASE_URL;
const kind = databaseKind(url);

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: LAYOUT[kind].schema,
  migrations: { path: LAYOUT[kind].migrations },
  adapter: async () =>
    kind === 'sqlite'
      ? new PrismaBetterSQLite3({ url: `file:${sqlitePath(url)}` })
      : // The CLI never closes the pool: without allowExitOnIdle its idle connections would keep
        // the process alive for pg's 10 s idle timeout after every command.
        new PrismaPg({ connectionString: url, allowExitOnIdle: true }),
});
