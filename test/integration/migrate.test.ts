// `controller migrate` and MIGRATE_ON_START, through the real entry point as a child process (as
// `npm run controller -- migrate` and the image's `migrate` run it): migrations applied and exit 0,
// a second run a no-op, an unreachable database exit 1 with the reason and no password, and with
// MIGRATE_ON_START=false a controller that refuses a schema that is behind (exit 2, naming the
// command) and starts on one that is current.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrationNames, schemaUpToDate } from '../../db/migrate';
import { createDatabase, dropDatabase, pgAdminUrl, scratchName } from '../../db/tooling/pg-admin';
import { pgAvailable } from '../helpers/db';
import { LogDir, startControllerProc } from '../helpers/procs';
import { testNamespace, temporalCliAvailable } from '../helpers/temporal';
import { newSecretKey } from '../../lib/crypto';

const ROOT = path.resolve(__dirname, '..', '..');
const withPg = await pgAvailable();
const dir = mkdtempSync(path.join(tmpdir(), 'migrate-test-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the controller entry point with `args` and only `env` (plus PATH/HOME); resolves with how it ended. */
function controller(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'controller', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', DATA_DIR: path.join(dir, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function appliedSqlite(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name').all() as { migration_name: string }[]).map((r) => r.migration_name);
  } finally {
    db.close();
  }
}

describe('controller migrate', () => {
  it('applies every migration to a new SQLite database and exits 0; a second run is a no-op', async () => {
    const file = path.join(dir, 'fresh.db');
    // HOST=0.0.0.0 as the image sets it: `migrate` serves nothing, so it needs no API_TOKEN.
    const first = await controller(['migrate'], { DATABASE_URL: `file:${file}`, HOST: '0.0.0.0' });
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/is up to date \(\d+ migrations, latest \d+_\w+\)/);
    expect(appliedSqlite(file)).toEqual(migrationNames('sqlite'));
    const again = await controller(['migrate'], { DATABASE_URL: `file:${file}` });
    expect(again, again.stderr).toMatchObject({ code: 0 });
    expect(appliedSqlite(file)).toEqual(migrationNames('sqlite'));
  });

  it.skipIf(!withPg)('migrates a new PostgreSQL database and exits 0', async () => {
    const name = scratchName('ipsec_test');
    const url = await createDatabase(pgAdminUrl(), name);
    try {
      expect(await schemaUpToDate(url)).toBe(false);
      const run = await controller(['migrate'], { DATABASE_URL: url });
      expect(run, run.stderr).toMatchObject({ code: 0 });
      expect(await schemaUpToDate(url)).toBe(true);
    } finally {
      await dropDatabase(pgAdminUrl(), name);
    }
  });

  it('exits 1 naming the database (password masked) when it cannot be reached', async () => {
    const run = await controller(['migrate'], { DATABASE_URL: 'postgresql://mesh:hunter2-secret@127.0.0.1:1/mesh' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('controller migrate: could not migrate postgresql://mesh:***@127.0.0.1:1/mesh');
    expect(run.stderr).toMatch(/ECONNREFUSED/);
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });

  it('refuses an unknown command and a MIGRATE_ON_START that is not a strict boolean (exit 2)', async () => {
    const unknown = await controller(['migrat'], { DATABASE_URL: `file:${path.join(dir, 'unused.db')}` });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "migrat".*`migrate`/);
    const bad = await controller(['migrate'], { DATABASE_URL: `file:${path.join(dir, 'unused.db')}`, MIGRATE_ON_START: 'yes' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('MIGRATE_ON_START: expected true, false, 1 or 0');
    expect(existsSync(path.join(dir, 'unused.db'))).toBe(false);
  });
});

describe('MIGRATE_ON_START=false', () => {
  it('exits 2 naming the migrate command when the schema is behind, and leaves the database alone', async () => {
    const file = path.join(dir, 'behind.db');
    // A database one migration short: the state a replica meets when its image is newer than the last `migrate`.
    const names = migrationNames('sqlite');
    const run0 = await controller(['migrate'], { DATABASE_URL: `file:${file}` });
    expect(run0.code).toBe(0);
    const db = new Database(file);
    db.prepare('DELETE FROM _prisma_migrations WHERE migration_name = ?').run(names.at(-1));
    db.close();
    const run = await controller([], {
      DATABASE_URL: `file:${file}`,
      MIGRATE_ON_START: 'false',
      // Unreachable on purpose: the schema check comes first, so nothing waits on Temporal.
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      SECRET_KEY: newSecretKey(),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/schema of file:.*behind\.db is behind this version and MIGRATE_ON_START=false: run the `migrate` command first/);
    expect(run.ms).toBeLessThan(30_000);
    expect(appliedSqlite(file)).toEqual(names.slice(0, -1));
  });

  it('exits 2 on an empty database too', async () => {
    const run = await controller([], { DATABASE_URL: `file:${path.join(dir, 'empty.db')}`, MIGRATE_ON_START: 'false', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('run the `migrate` command first');
  });

  it.skipIf(!temporalCliAvailable().ok)('starts on a current schema and answers /healthz', async () => {
    const file = path.join(dir, 'current.db');
    expect((await controller(['migrate'], { DATABASE_URL: `file:${file}` })).code).toBe(0);
    const temporal = await testNamespace();
    const logs = new LogDir('migrate-test');
    try {
      const proc = await startControllerProc({
        name: 'no-migrate',
        logs,
        temporalAddress: temporal.address,
        temporalNamespace: temporal.namespace,
        databaseUrl: `file:${file}`,
        taskQueue: `migrate-${Date.now()}`,
        secretKey: newSecretKey(),
        env: { MIGRATE_ON_START: 'false' },
      });
      try {
        const res = await fetch(`${proc.url}/healthz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok', temporal: 'ok' } });
      } finally {
        await proc.stop();
      }
    } finally {
      logs.remove();
      await temporal.stop();
    }
  });
});
