// Applies the migration history with `prisma migrate deploy`, skipping the CLI when nothing is due.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { LAYOUT } from './layout';
import { runPrisma } from './prisma-cli';
import { prepareSqliteFile, withSqliteLock } from './sqlite';
import { databaseKind, sqlitePath, type DatabaseKind } from './url';

/** Migration directory names of a provider's history, oldest first (names start with a timestamp). */
export function migrationNames(kind: DatabaseKind): string[] {
  const dir = LAYOUT[kind].migrations;
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort();
}

/**
 * Applies pending migrations to the database at `url`; a no-op (milliseconds, no CLI) when it is up
 * to date. Safe to call from several processes at once: PostgreSQL is serialised by Prisma's
 * advisory lock, SQLite by withSqliteLock. A SQLite file with pending migrations must not be open
 * elsewhere (Prisma locks it exclusively), so migrate before calling openDb.
 */
export async function migrateDb(url: string): Promise<void> {
  const kind = databaseKind(url);
  const wanted = migrationNames(kind);
  if (kind === 'postgresql') {
    if (await pgUpToDate(url, wanted)) return;
    await runPrisma(['migrate', 'deploy'], url);
    return;
  }
  const file = sqlitePath(url);
  prepareSqliteFile(file);
  if (sqliteUpToDate(file, wanted)) return;
  try {
    await withSqliteLock(file, () => runPrisma(['migrate', 'deploy'], url));
  } catch (err) {
    // Prisma's SQLite migrator sets locking_mode=EXCLUSIVE, so any other open connection to the
    // file makes it fail after the busy timeout, with an error the WASM engine cannot even name.
    if (!/SocketTimeout|SQLITE_BUSY/.test((err as Error).message)) throw err;
    throw new Error(
      `Cannot migrate ${file}: Prisma needs exclusive access to a SQLite file to migrate it, and another ` +
        'connection has it open. Migrate before opening the database, or stop the processes using it.',
      { cause: err },
    );
  }
}

/**
 * Whether every migration of this version's history is applied (and none half-applied), without
 * changing anything: the controller's check when MIGRATE_ON_START=false. Rejects when the database
 * cannot be reached.
 */
export async function schemaUpToDate(url: string): Promise<boolean> {
  const kind = databaseKind(url);
  const wanted = migrationNames(kind);
  if (kind === 'postgresql') return pgUpToDate(url, wanted);
  const file = sqlitePath(url);
  return fs.existsSync(file) && sqliteUpToDate(file, wanted);
}

// Fast path: starting the CLI costs about a second, reading _prisma_migrations a few milliseconds.
// "Up to date" means every local migration finished and none is half-applied (a failed one is left
// to `migrate deploy`, which reports it properly).
const APPLIED_SQL =
  'SELECT migration_name, finished_at IS NOT NULL AS done FROM _prisma_migrations WHERE rolled_back_at IS NULL';

function upToDate(rows: { migration_name: string; done: unknown }[], wanted: string[]): boolean {
  if (rows.some((r) => !r.done)) return false;
  const applied = new Set(rows.map((r) => r.migration_name));
  return wanted.every((name) => applied.has(name));
}

function sqliteUpToDate(file: string, wanted: string[]): boolean {
  const db = new Database(file, { readonly: true });
  try {
    return upToDate(db.prepare(APPLIED_SQL).all() as { migration_name: string; done: number }[], wanted);
  } catch {
    return false; // no _prisma_migrations table yet
  } finally {
    db.close();
  }
}

async function pgUpToDate(url: string, wanted: string[]): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('_prisma_migrations') AS t`);
    if (!exists.rows[0]?.t) return false;
    return upToDate((await client.query<{ migration_name: string; done: boolean }>(APPLIED_SQL)).rows, wanted);
  } finally {
    await client.end();
  }
}
