// Throwaway databases for tests: a migrated SQLite file in a temp dir, or a migrated database on
// the local PostgreSQL server (TEST_PG_URL, default trust-auth postgres@127.0.0.1:5432).
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrateDb, openDb, type Db } from '../../db';
import { redactUrl } from '../../db/url';
import { createDatabase, dropDatabase, pgAdminUrl, scratchName, sweepDatabases } from '../../db/tooling/pg-admin';
import { runShared } from './run';

export interface TestDb {
  url: string;
  db: Db;
  /** Disconnects and deletes the database. Safe to call twice. */
  cleanup: () => Promise<void>;
}

export async function createSqliteTestDb(): Promise<TestDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-db-'));
  const file = path.join(dir, 'test.db');
  const url = `file:${file}`;
  try {
    // A copy of the run's migrated database: Prisma's migrate engine takes seconds per file (more
    // under load), a copy milliseconds. migrateDb then only checks that nothing is pending.
    const template = await sqliteTemplate();
    if (template) fs.copyFileSync(template, file);
    await migrateDb(url);
    const db = await openDb(url);
    return { url, db, cleanup: once(async () => {
      await db.$disconnect();
      fs.rmSync(dir, { recursive: true, force: true });
    }) };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The run's migrated SQLite file (test/helpers/run.ts), its journal folded in so one file is the whole database. */
async function sqliteTemplate(): Promise<string | undefined> {
  const made = await runShared('sqlite-template', async (dir) => {
    const file = path.join(dir, 'template.db');
    await migrateDb(`file:${file}`);
    const db = new Database(file);
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    return { file };
  });
  return made?.file;
}

const PREFIX = 'ipsec_test';
let swept = false;

export async function createPgTestDb(): Promise<TestDb> {
  const admin = pgAdminUrl();
  if (!swept) {
    swept = true;
    await sweepDatabases(admin, PREFIX); // databases left by runs that were killed before cleanup
  }
  const name = scratchName(PREFIX);
  const url = await createDatabase(admin, name);
  try {
    await migrateDb(url);
    const db = await openDb(url);
    return { url, db, cleanup: once(async () => {
      await db.$disconnect();
      await dropDatabase(admin, name);
    }) };
  } catch (err) {
    await dropDatabase(admin, name);
    throw err;
  }
}

let availability: Promise<boolean> | undefined;

/**
 * Whether the test PostgreSQL server answers; prints why not, once. Under CI (env CI set) an
 * absent server is an error instead, so PostgreSQL tests can never be skipped silently there.
 */
export function pgAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      const why = `PostgreSQL at ${redactUrl(pgAdminUrl())} is not available (${(err as Error).message})`;
      if (process.env.CI) throw new Error(`${why}; CI must provide it (set TEST_PG_URL)`);
      console.warn(`${why}: skipping PostgreSQL tests. Set TEST_PG_URL to run them.`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
