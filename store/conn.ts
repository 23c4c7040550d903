// The one handle on Prisma that the store's modules share: the client (or the transaction it is
// bound to), atomic batches of raw statements, and the decoding of raw rows. Nothing outside
// store/ sees it.
import { Prisma } from '../generated/prisma/client';
import type { Db } from '../db';
import { DuplicateError } from './errors';
import { unavailable } from '../lib/errors';

export type Sql = Prisma.Sql;
export const sql = Prisma.sql;
export const join = Prisma.join;
export const empty = Prisma.empty;
/** Fixed SQL text (column lists); never for values. */
export const raw = Prisma.raw;

/** The Prisma client, or an interactive transaction of it (same model API, no $transaction). */
export type PrismaHandle = Db | Prisma.TransactionClient;

export interface Conn {
  /** Model API, for reads and writes off the hot paths (Prisma compiles every such query). */
  readonly prisma: PrismaHandle;
  readonly kind: 'sqlite' | 'postgresql';
  /** Raw statement returning rows; tagged-template SQL that runs on both databases. */
  rows<Row>(query: Sql): Promise<Row[]>;
  /** Raw statement; the number of rows it changed. */
  execute(query: Sql): Promise<number>;
  /** Raw statements in one transaction (in order); their change counts. */
  batch(queries: Sql[]): Promise<number[]>;
  /** `work` in one interactive transaction (inside one already: in that one). */
  atomically<T>(work: (inner: Conn) => Promise<T>): Promise<T>;
}

/** Set on every generated client; absent or different means SQLite. */
function kindOf(db: Db): Conn['kind'] {
  return (db as unknown as { _activeProvider?: unknown })._activeProvider === 'postgresql' ? 'postgresql' : 'sqlite';
}

/**
 * Raw statements skip Prisma's query compiler, which is most of what a model query costs in CPU
 * (about 1.6 ms against 0.35 ms for the same primary-key read, measured by bench/store.ts's
 * author): the hot paths use them, in SQL that runs unchanged on SQLite and PostgreSQL.
 */
export function connect(db: Db): Conn {
  const kind = kindOf(db);
  return bind(db, kind, (work) => busy(db.$transaction((tx) => work(bind(tx, kind, undefined)), TRANSACTION_LIMITS)));
}

/**
 * An interactive transaction holds a pool connection from BEGIN to COMMIT. Prisma's defaults (2 s
 * to get one, 5 s to finish) turned a burst of link requests on a loaded 2-core machine into
 * 500s; a transaction here is a few statements, so waiting longer is the better answer, and one
 * that still cannot run is a busy service (503), not a bug.
 */
const TRANSACTION_LIMITS = { maxWait: 10_000, timeout: 30_000 };

async function busy<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    // P2028: the transaction could not start in time, or ran past its time and was closed.
    if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'P2028') {
      throw Object.assign(unavailable('the database is busy; try again in a moment'), { cause: err });
    }
    throw err;
  }
}

function bind(handle: PrismaHandle, kind: Conn['kind'], begin: (<T>(work: (inner: Conn) => Promise<T>) => Promise<T>) | undefined): Conn {
  const conn: Conn = {
    prisma: handle,
    kind,
    rows: <Row>(query: Sql) => duplicates(handle.$queryRaw<Row[]>(query)),
    execute: (query) => duplicates(handle.$executeRaw(query)),
    async batch(queries) {
      if (queries.length === 0) return [];
      if (queries.length === 1 || !begin) {
        const counts: number[] = [];
        for (const query of queries) counts.push(await conn.execute(query));
        return counts;
      }
      // A batch transaction costs one round of BEGIN/COMMIT and no interactive bookkeeping.
      return duplicates((handle as Db).$transaction(queries.map((query) => (handle as Db).$executeRaw(query))));
    },
    atomically: (work) => (begin ? begin(work) : work(conn)),
  };
  return conn;
}

/** Prisma error codes by duck typing: the SQLite and PostgreSQL clients' classes differ. */
function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'P2002') return true;
  // Raw statements report the driver's error: SQLite's constraint code, PostgreSQL's 23505.
  const message = (err as { message?: unknown }).message;
  return code === 'P2010' && typeof message === 'string' && /UNIQUE constraint failed|23505|unique constraint/i.test(message);
}

/** A foreign key refused a write (a row still referred to, or referring to one that is gone). */
export function isForeignKeyViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'P2003' || code === 'P2014') return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /FOREIGN KEY constraint failed|23503|violates foreign key constraint/i.test(message);
}

/** A unique-key violation becomes a DuplicateError; anything else passes unchanged. */
export async function duplicates<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateError('a row with the same unique key exists', { cause: err });
    throw err;
  }
}

// ---- decoding raw rows: drivers differ in how they hand back booleans, timestamps and counts ----

export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === 1n || value === '1' || value === 't' || value === 'true';
}

export function optionalBool(value: unknown): boolean | null {
  return value === null || value === undefined ? null : bool(value);
}

export function date(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw new TypeError(`expected a timestamp, got ${typeof value}`);
}

export function optionalDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : date(value);
}

/** Counts and ids: drivers hand back numbers, bigints or numeric text. */
export function int(value: unknown): number {
  return Number(value);
}

export function text(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`expected text, got ${typeof value}`);
  return value;
}

export function optionalText(value: unknown): string | null {
  return value === null || value === undefined ? null : text(value);
}
