// A canonical, provider-specific description of a database's structure (tables, columns, keys,
// indexes), read from the system catalogs. `check` compares the database the migration history
// builds with the one the current schema builds. We read catalogs ourselves because Prisma 6.19
// cannot introspect through driver adapters here: `migrate diff --from-migrations` fails on SQLite
// (multi-statement scripts) and on PostgreSQL (catalog type "char" unsupported by adapter-pg 7.10.1).
// Lines are sorted, so column order (ALTER TABLE appends) does not count as a difference.
import Database from 'better-sqlite3';
import pg from 'pg';

const IGNORED_TABLE = '_prisma_migrations';

export function describeSqlite(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const lines: string[] = [];
    const tables = db
      .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?`)
      .all(IGNORED_TABLE) as { name: string; sql: string }[];
    for (const { name: t, sql } of tables) {
      lines.push(`table ${t}${/AUTOINCREMENT/i.test(sql) ? ' autoincrement' : ''}`);
      for (const c of db.pragma(`table_xinfo(${JSON.stringify(t)})`) as Record<string, unknown>[]) {
        lines.push(`column ${t}.${String(c.name)} ${String(c.type)} notnull=${String(c.notnull)} default=${String(c.dflt_value)} pk=${String(c.pk)} hidden=${String(c.hidden)}`);
      }
      for (const i of db.pragma(`index_list(${JSON.stringify(t)})`) as Record<string, unknown>[]) {
        const cols = (db.pragma(`index_info(${JSON.stringify(i.name)})`) as { name: string }[]).map((c) => c.name);
        lines.push(`index ${t} ${String(i.name)} (${cols.join(',')}) unique=${String(i.unique)} origin=${String(i.origin)} partial=${String(i.partial)}`);
      }
      for (const f of db.pragma(`foreign_key_list(${JSON.stringify(t)})`) as Record<string, unknown>[]) {
        lines.push(`fk ${t}.${String(f.from)} -> ${String(f.table)}.${String(f.to)} update=${String(f.on_update)} delete=${String(f.on_delete)}`);
      }
    }
    return lines.sort();
  } finally {
    db.close();
  }
}

export async function describePg(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async (sql: string) => (await client.query<{ line: string }>(sql, [IGNORED_TABLE])).rows.map((r) => r.line);
    const lines = [
      ...(await q(`SELECT format('column %s.%s %s notnull=%s default=%s', table_name, column_name,
                     format_type(a.atttypid, a.atttypmod), is_nullable = 'NO', column_default) AS line
                   FROM information_schema.columns c
                   JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
                                      AND a.attname = c.column_name
                   WHERE c.table_schema = current_schema() AND c.table_name <> $1`)),
      ...(await q(`SELECT format('constraint %s %s %s', t.relname, con.conname, pg_get_constraintdef(con.oid)) AS line
                   FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
                   WHERE t.relnamespace = current_schema()::regnamespace AND t.relname <> $1`)),
      ...(await q(`SELECT format('index %s %s', tablename, indexdef) AS line FROM pg_indexes
                   WHERE schemaname = current_schema() AND tablename <> $1`)),
      ...(await q(`SELECT format('enum %s %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)) AS line
                   FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
                   WHERE t.typnamespace = current_schema()::regnamespace AND t.typname <> $1 GROUP BY t.typname`)),
    ];
    return lines.sort();
  } finally {
    await client.end();
  }
}

/** Human-readable difference between two descriptions; empty when they match. */
export function diffLines(actual: string[], expected: string[]): string[] {
  const a = new Set(actual);
  const e = new Set(expected);
  return [...expected.filter((l) => !a.has(l)).map((l) => `missing: ${l}`), ...actual.filter((l) => !e.has(l)).map((l) => `unexpected: ${l}`)];
}
