// The one handle on Prisma that the store's modules share: the client (or the transaction it is
// bound to), atomic batches of raw statements, and the decoding of raw rows. On PostgreSQL, raw
// statements outside an interactive transaction run on the client's connection pool directly.
// Nothing outside store/ sees it.
import pg from 'pg';
import { Prisma } from '../generated/prisma/client';
import { pgPoolOf, type Db } from '../db';
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
  const pool = kind === 'postgresql' ? pgPoolOf(db) : undefined;
  return bind(db, kind, (work) => busy(db.$transaction((tx) => work(bind(tx, kind, undefined)), TRANSACTION_LIMITS)), pool ? direct(pool) : undefined);
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

/**
 * `raw`: where raw statements go instead of through Prisma (PostgreSQL, outside an interactive
 * transaction, whose statements must stay on Prisma's connection).
 */
function bind(handle: PrismaHandle, kind: Conn['kind'], begin: (<T>(work: (inner: Conn) => Promise<T>) => Promise<T>) | undefined, raw?: RawPath): Conn {
  const conn: Conn = {
    prisma: handle,
    kind,
    rows: <Row>(query: Sql) => duplicates(raw ? (raw.rows(query) as Promise<Row[]>) : handle.$queryRaw<Row[]>(query)),
    execute: (query) => duplicates(raw ? raw.execute(query) : handle.$executeRaw(query)),
    async batch(queries) {
      if (queries.length === 0) return [];
      if (raw) return duplicates(raw.batch(queries));
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

// ---- raw statements straight to PostgreSQL ----------------------------------------------------

interface RawPath {
  rows(query: Sql): Promise<Array<Record<string, unknown>>>;
  execute(query: Sql): Promise<number>;
  batch(queries: Sql[]): Promise<number[]>;
}

/**
 * Values and results as Prisma's pg adapter maps them, so a statement reads and writes the same
 * whichever path runs it: a Date is written as UTC wall-clock text (the columns are `timestamp(3)`
 * without a zone, Prisma's convention), and read back as UTC; int8 reads as a BigInt.
 */
function pgValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (ArrayBuffer.isView(value) && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}

const TIMESTAMP_OID = 1114;
const INT8_OID = 20;
const parseTimestamp = (text: string): Date => new Date(`${text.replace(' ', 'T')}Z`);
const parseInt8 = (text: string): bigint => BigInt(text);
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary') {
      if (oid === TIMESTAMP_OID) return parseTimestamp;
      if (oid === INT8_OID) return parseInt8;
    }
    return pg.types.getTypeParser(oid, format) as (text: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

/**
 * Raw statements on the pool itself. Through Prisma each one also went through its query
 * compiler (WASM) and result mapping: most of the controller's database CPU on bench:routes.
 */
function direct(pool: pg.Pool): RawPath {
  const config = (query: Sql): pg.QueryConfig => ({ text: query.text, values: query.values.map(pgValue), types: PG_TYPES });
  return {
    rows: async (query) => (await pool.query<Record<string, unknown>>(config(query))).rows,
    execute: async (query) => (await pool.query(config(query))).rowCount ?? 0,
    async batch(queries) {
      if (queries.length === 1) return [(await pool.query(config(queries[0]!))).rowCount ?? 0];
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const counts: number[] = [];
        try {
          for (const query of queries) counts.push((await client.query(config(query))).rowCount ?? 0);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
            broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
          });
          throw err;
        }
        return counts;
      } finally {
        // A connection whose ROLLBACK failed is not given back to the pool.
        client.release(broken);
      }
    },
  };
}

/** Prisma error codes by duck typing: the SQLite and PostgreSQL clients' classes differ. */
function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  // P2002 from Prisma's model API, 23505 from PostgreSQL itself (raw statements on the pool).
  if (code === 'P2002' || code === '23505') return true;
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
