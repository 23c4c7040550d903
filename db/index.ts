// The database layer's public API: open a Prisma client for a DATABASE_URL (SQLite or PostgreSQL)
// and bring its schema up to date. Run `tsx scripts/db.ts generate` first: the clients are generated.
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient as SqliteClient } from '../generated/prisma/client';
import { PrismaClient as PgClient } from '../generated/prisma-pg/client';
import { BUSY_TIMEOUT_MS, prepareSqliteFile } from './sqlite';
import { databaseKind, sqlitePath } from './url';

/**
 * The client type the rest of the code uses, whichever provider is behind it. It is the SQLite
 * client's type: the two generated clients have the same model API, and SQLite's is the smaller
 * feature set (no `mode: 'insensitive'`, no `skipDuplicates`), so code that compiles runs on both.
 */
export type Db = SqliteClient;

/** The pool a PostgreSQL client's adapter runs on, shared with the store's raw statements (pgPoolOf). */
const pools = new WeakMap<Db, pg.Pool>();

/**
 * The connection pool behind a PostgreSQL client (undefined for SQLite): store/conn.ts runs its
 * raw statements on it directly, skipping Prisma's query compiler and result mapping, which cost
 * more CPU than the statements themselves on the controller's hot paths (bench:routes).
 */
export const pgPoolOf = (db: Db): pg.Pool | undefined => pools.get(db);

export { databaseKind, DEFAULT_DATABASE_URL, type DatabaseKind } from './url';
export { migrateDb } from './migrate';
export { generateClients } from './prisma-cli';

/**
 * Connects to `url` (file:... or postgresql://...) with the matching driver adapter; rejects if the
 * database is unreachable. Call `migrateDb` first. Relative SQLite paths resolve against the
 * process cwd; the directory is created and the file put in WAL mode with a busy timeout, so
 * several processes can share it. Within one process, share a single Db per SQLite file:
 * better-sqlite3 waits for locks synchronously, so a second client in the same process would block
 * the event loop that the first one's open transaction needs in order to finish.
 */
export async function openDb(url: string): Promise<Db> {
  let db: Db;
  if (databaseKind(url) === 'sqlite') {
    const file = sqlitePath(url);
    prepareSqliteFile(file);
    db = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: `file:${file}`, timeout: BUSY_TIMEOUT_MS }) });
  } else {
    // A client generated for "sqlite" refuses a PostgreSQL adapter, hence a second generated client;
    // the cast is sound because the model API is the same (see Db).
    // One pool for both: the adapter's model queries and the store's raw statements. Ended by $disconnect.
    const pool = new pg.Pool({ connectionString: url });
    db = new PgClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) }) as unknown as Db;
    pools.set(db, pool);
  }
  // $connect() is lazy with driver adapters; a query makes an unreachable database fail here.
  try {
    await db.$queryRawUnsafe('SELECT 1');
  } catch (err) {
    await db.$disconnect();
    throw err;
  }
  return db;
}
