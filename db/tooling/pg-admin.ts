// Creating and dropping throwaway PostgreSQL databases, for tests and for `scripts/db.ts check`.
import crypto from 'node:crypto';
import pg from 'pg';

/** Server used for scratch databases; CI runs PostgreSQL with trust auth on loopback. */
export function pgAdminUrl(): string {
  return process.env.TEST_PG_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
}

/** `url` pointing at database `name` instead (credentials, host and options kept). */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

/** A fresh database name; the timestamp lets sweepDatabases find ones left by crashed runs. */
export function scratchName(prefix: string): string {
  return `${prefix}_${Date.now()}_${crypto.randomBytes(4).toString('hex')}`;
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates database `name` on the admin URL's server and returns a URL for it. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return withDatabase(adminUrl, name);
}

/** Drops database `name`, disconnecting anyone still using it (PostgreSQL 13+). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Drops `<prefix>_<ms>_<hex>` databases older than `maxAgeMs` (left behind by killed runs). */
export async function sweepDatabases(adminUrl: string, prefix: string, maxAgeMs = 3_600_000): Promise<void> {
  const names = await withAdmin(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}\\_%`]);
    return rows.map((r) => r.datname);
  });
  const cutoff = Date.now() - maxAgeMs;
  for (const name of names) {
    const ms = Number(name.slice(prefix.length + 1).split('_')[0]);
    if (Number.isFinite(ms) && ms < cutoff) await dropDatabase(adminUrl, name);
  }
}
