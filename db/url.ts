// URL handling shared by the runtime (db/index.ts), the Prisma CLI config (prisma.config.ts) and the
// tooling, so all three agree on which provider a DATABASE_URL means and where a SQLite file lives.
import path from 'node:path';

export type DatabaseKind = 'sqlite' | 'postgresql';

/** Used by scripts and the controller when DATABASE_URL is not set. */
export const DEFAULT_DATABASE_URL = 'file:./.data/controller.db';

/** Which provider a connection URL is for; throws naming the scheme for anything else. */
export function databaseKind(url: string): DatabaseKind {
  if (url.startsWith('file:')) return 'sqlite';
  if (url.startsWith('postgresql://') || url.startsWith('postgres://')) return 'postgresql';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new Error(
    `Unsupported DATABASE_URL scheme ${scheme ? `"${scheme}:"` : '(none)'}: ` +
      'use file:<path> for SQLite or postgresql://... for PostgreSQL',
  );
}

/**
 * Absolute file path of a `file:` URL. Relative paths resolve against `cwd` (the process cwd by
 * default), like the SQLite CLI would, so `file:./.data/x.db` means the same file to every tool
 * started from the same directory. Query parameters (`?connection_limit=...`) are dropped: the
 * better-sqlite3 adapter would otherwise treat them as part of the file name.
 */
export function sqlitePath(url: string, cwd = process.cwd()): string {
  const raw = url.slice('file:'.length).replace(/[?#].*$/, '');
  if (raw === '' || raw === ':memory:') throw new Error(`SQLite URL "${url}" names no file`);
  return path.resolve(cwd, raw);
}

/** The same URL with a relative SQLite path made absolute; other URLs are returned unchanged. */
export function absoluteUrl(url: string, cwd = process.cwd()): string {
  return databaseKind(url) === 'sqlite' ? `file:${sqlitePath(url, cwd)}` : url;
}

/** The URL with any password masked, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
