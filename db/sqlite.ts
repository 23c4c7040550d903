// SQLite file preparation and a cross-process lock, shared by openDb and migrateDb.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * How long a connection waits for another connection's write lock before failing with
 * SQLITE_BUSY. Several controller processes (and test helpers) share one file, and a migration or
 * a burst of writes elsewhere must not turn into errors.
 */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Creates the directory and switches the file to WAL. WAL is a property of the file (it persists),
 * so doing it once here covers every later connection, including Prisma's: readers then no longer
 * block the writer, which is what lets several processes share the file.
 */
export function prepareSqliteFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

/**
 * Runs `fn` while holding an exclusive lock on a sidecar file next to the database. Prisma takes an
 * advisory lock for PostgreSQL migrations but none for SQLite, so two processes starting on a fresh
 * file could both apply `init`. SQLite's own file lock is released by the OS if the holder dies,
 * so a crash never leaves a stale lock. The sidecar is not deleted: deleting a lock file others
 * are waiting on would let two holders in. We poll instead of using a busy timeout because
 * better-sqlite3 waits synchronously, which would block the event loop of a process that itself
 * holds the lock and is waiting for its migration to finish.
 */
export async function withSqliteLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const lock = new Database(`${file}.migrate-lock`, { timeout: 0 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        lock.exec('BEGIN EXCLUSIVE');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
        if (Date.now() > deadline) throw new Error(`Timed out waiting for the migration lock on ${file}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    try {
      return await fn();
    } finally {
      lock.exec('ROLLBACK');
    }
  } finally {
    lock.close();
  }
}
