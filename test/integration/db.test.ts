// The database layer against real SQLite files and a real PostgreSQL server: migrations, the
// model round trip, the constraints the rest of the code relies on, and the schema-drift checks.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKind, migrateDb, openDb, type Db, type DatabaseKind } from '../../db';
import { LAYOUT, ROOT } from '../../db/layout';
import { sqlitePath } from '../../db/url';
import { runPrisma, runPrismaRaw } from '../../db/prisma-cli';
import { checkMigrations, historyDrift } from '../../db/tooling/migrations';
import { createDatabase, dropDatabase, pgAdminUrl, scratchName } from '../../db/tooling/pg-admin';
import { derivePgSchema } from '../../db/tooling/pg-schema';
import { createPgTestDb, createSqliteTestDb, pgAvailable, type TestDb } from '../helpers/db';

const withPg = await pgAvailable();

/** An empty (unmigrated) database of the given kind, removed by the returned cleanup. */
async function emptyDb(kind: DatabaseKind): Promise<{ url: string; cleanup: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-test-'));
    return { url: `file:${path.join(dir, 'x.db')}`, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = scratchName('ipsec_test');
  const url = await createDatabase(pgAdminUrl(), name);
  return { url, cleanup: () => dropDatabase(pgAdminUrl(), name) };
}

async function withDb<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(url);
  try {
    return await fn(db);
  } finally {
    await db.$disconnect();
  }
}

async function appliedMigrations(db: Db): Promise<{ migration_name: string; finished_at: unknown }[]> {
  return db.$queryRawUnsafe('SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name');
}

/** The Prisma error code of a rejected promise (P2002 unique, P2003 foreign key, ...). */
async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error('expected the operation to fail');
}

function gatewayData(id: string) {
  return { id, name: `gw-${id}`, provider: 'onprem', cidrs: JSON.stringify(['10.0.0.0/16']), secretHash: 'ab'.repeat(32) };
}

function linkData(id: string, aId: string, bId: string, activePairKey: string | null) {
  return {
    id,
    aId,
    bId,
    activePairKey,
    state: 'provisioning',
    aCidrs: '["10.1.0.0/16"]',
    bCidrs: '["10.2.0.0/16"]',
    pskCiphertext: 'c2VjcmV0',
    workflowId: `link-${id}`,
  };
}

describe('databaseKind', () => {
  it('maps URL schemes to providers and names the scheme it rejects', () => {
    expect(databaseKind('file:./.data/controller.db')).toBe('sqlite');
    expect(databaseKind('postgresql://u@h/db')).toBe('postgresql');
    expect(databaseKind('postgres://u@h/db')).toBe('postgresql');
    expect(() => databaseKind('mysql://u@h/db')).toThrow(/"mysql:"/);
    expect(() => databaseKind('controller.db')).toThrow(/scheme/);
  });
});

const providers: { kind: DatabaseKind; enabled: boolean; create: () => Promise<TestDb> }[] = [
  { kind: 'sqlite', enabled: true, create: createSqliteTestDb },
  { kind: 'postgresql', enabled: withPg, create: createPgTestDb },
];

for (const { kind, enabled, create } of providers) {
  describe.runIf(enabled)(`${kind}: migrations`, () => {
    it('apply to an empty database; status is up to date; a second deploy is a no-op', async () => {
      const { url, cleanup } = await emptyDb(kind);
      try {
        await migrateDb(url);
        const status = await runPrismaRaw(['migrate', 'status'], url);
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toContain('Database schema is up to date');
        const before = await withDb(url, appliedMigrations);
        expect(before.map((m) => m.migration_name)).toEqual(fs.readdirSync(LAYOUT[kind].migrations).filter((n) => /^\d/.test(n)).sort());

        const started = performance.now();
        await migrateDb(url); // up to date: must not even start the CLI
        expect(performance.now() - started).toBeLessThan(500);
        // Prisma itself agrees there is nothing to do.
        expect(await runPrisma(['migrate', 'deploy'], url)).toContain('No pending migrations');
        expect(await withDb(url, appliedMigrations)).toEqual(before);
        expect(await withDb(url, (db) => db.gateway.count())).toBe(0);
      } finally {
        await cleanup();
      }
    });

    it('concurrent deploys (one CLI process each, as from several controllers) apply each migration once', async () => {
      const { url, cleanup } = await emptyDb(kind);
      try {
        await Promise.all([migrateDb(url), migrateDb(url), migrateDb(url)]);
        const db = await openDb(url);
        try {
          const applied = await appliedMigrations(db);
          expect(new Set(applied.map((m) => m.migration_name)).size).toBe(applied.length);
          expect(applied.every((m) => m.finished_at !== null)).toBe(true);
        } finally {
          await db.$disconnect();
        }
      } finally {
        await cleanup();
      }
    });

    it('openDb rejects an unreachable database', async () => {
      const { url, cleanup } = await emptyDb(kind);
      if (kind === 'postgresql') {
        await cleanup(); // drops the database
        await expect(openDb(url)).rejects.toThrow(/does not exist/);
        return;
      }
      try {
        const file = sqlitePath(url);
        fs.writeFileSync(file, ''); // a file where the database's directory should be
        await expect(openDb(`file:${file}/sub/x.db`)).rejects.toThrow(/ENOTDIR/);
      } finally {
        await cleanup();
      }
    });

    it("fails with Prisma's message when it cannot migrate", async () => {
      const { url, cleanup } = await emptyDb(kind);
      try {
        const db = await openDb(url);
        await db.$executeRawUnsafe('CREATE TABLE "Gateway" (x INTEGER)'); // collides with init
        await db.$disconnect();
        // P3005: Prisma refuses to take over a non-empty database it did not migrate.
        await expect(migrateDb(url)).rejects.toThrow(/^prisma migrate deploy failed \(exit 1\): Error: P3005\b/);
      } finally {
        await cleanup();
      }
    });
  });

  describe.runIf(enabled)(`${kind}: model`, () => {
    let t: TestDb;
    let db: Db;
    beforeAll(async () => {
      t = await create();
      db = t.db;
    });
    afterAll(() => t?.cleanup());

    it('round-trips gateway → link → events', async () => {
      const seen = new Date('2026-01-02T03:04:05.678Z');
      await db.gateway.create({ data: { ...gatewayData('a'), lastSeenAt: seen, facts: '{"os":"linux"}' } });
      await db.gateway.create({ data: gatewayData('b') });
      await db.link.create({ data: linkData('l1', 'a', 'b', 'a|b') });
      for (const type of ['config.pushed', 'tunnel.up', 'tunnel.down']) {
        await db.linkEvent.create({ data: { linkId: 'l1', type, message: `event ${type}`, data: '{"n":1}' } });
      }

      const link = await db.link.findUniqueOrThrow({
        where: { id: 'l1' },
        include: { a: true, b: true, events: { orderBy: { id: 'asc' } } },
      });
      expect(link.a.lastSeenAt).toEqual(seen);
      expect(link.a.online).toBe(false);
      expect(JSON.parse(link.a.cidrs)).toEqual(['10.0.0.0/16']);
      expect(link.b.publicIp).toBeNull();
      expect(link.aTunnelUp).toBe(false);
      expect(link.events.map((e) => e.type)).toEqual(['config.pushed', 'tunnel.up', 'tunnel.down']);
      expect(typeof link.events[0]?.id).toBe('number');
      expect(link.events[1]!.id).toBeGreaterThan(link.events[0]!.id);
      expect(link.events[0]?.at).toBeInstanceOf(Date);

      const updated = await db.link.update({ where: { id: 'l1' }, data: { state: 'up', aTunnelUp: true } });
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(link.updatedAt.getTime());
      const byPair = await db.link.findUnique({ where: { activePairKey: 'a|b' } });
      expect(byPair?.state).toBe('up');
      const gw = await db.gateway.findUniqueOrThrow({ where: { name: 'gw-a' }, include: { linksA: true, linksB: true } });
      expect(gw.linksA.map((l) => l.id)).toEqual(['l1']);
      expect(gw.linksB).toEqual([]);
    });

    it('enforces one active link per pair (P2002) while deleted links (NULL key) repeat', async () => {
      await db.gateway.createMany({ data: [gatewayData('c'), gatewayData('d')] });
      await db.link.create({ data: linkData('l2', 'c', 'd', 'c|d') });
      expect(await errorCode(db.link.create({ data: linkData('l3', 'c', 'd', 'c|d') }))).toBe('P2002');

      // Deleting a link clears its key, so the pair can be linked again and history is kept.
      await db.link.update({ where: { id: 'l2' }, data: { activePairKey: null, state: 'deleted', deletedAt: new Date() } });
      await db.link.create({ data: linkData('l3', 'c', 'd', 'c|d') });
      await db.link.update({ where: { id: 'l3' }, data: { activePairKey: null, state: 'deleted' } });
      await db.link.create({ data: linkData('l4', 'c', 'd', 'c|d') });
      expect(await db.link.count({ where: { aId: 'c', activePairKey: null } })).toBe(2);

      expect(await errorCode(db.link.create({ data: { ...linkData('l5', 'c', 'd', null), workflowId: 'link-l4' } }))).toBe('P2002');
    });

    it('refuses dangling references and keeps history: no cascading deletes', async () => {
      expect(await errorCode(db.link.create({ data: linkData('l9', 'a', 'nope', null) }))).toBe('P2003');
      // A gateway with links, and a link with events, cannot be deleted out from under them.
      expect(await errorCode(db.gateway.delete({ where: { id: 'a' } }))).toBe('P2003');
      expect(await errorCode(db.link.delete({ where: { id: 'l1' } }))).toBe('P2003');
      expect(await db.linkEvent.count({ where: { linkId: 'l1' } })).toBe(3);
      // Removing the dependents first works.
      await db.linkEvent.deleteMany({ where: { linkId: 'l1' } });
      await db.link.delete({ where: { id: 'l1' } });
    });

    it('rolls back an interactive transaction that throws', async () => {
      await expect(
        db.$transaction(async (tx) => {
          await tx.gateway.create({ data: gatewayData('tx') });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await db.gateway.findUnique({ where: { id: 'tx' } })).toBeNull();
    });
  });
}

describe('sqlite: file handling', () => {
  it('explains that migrating needs the file to itself', async () => {
    const { url, cleanup } = await emptyDb('sqlite');
    const db = await openDb(url);
    try {
      await db.$queryRawUnsafe('SELECT 1'); // the connection now holds the file open
      await expect(migrateDb(url)).rejects.toThrow(/needs exclusive access/);
    } finally {
      await db.$disconnect();
      await cleanup();
    }
  });


  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-file-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('resolves relative paths against the cwd, creates the directory, and uses WAL', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await migrateDb('file:./nested/.data/rel.db');
      const db = await openDb('file:./nested/.data/rel.db');
      try {
        expect(fs.existsSync(path.join(dir, 'nested/.data/rel.db'))).toBe(true);
        const [mode] = await db.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
        expect(mode?.journal_mode).toBe('wal');
        expect(await db.gateway.count()).toBe(0);
      } finally {
        await db.$disconnect();
      }
    } finally {
      process.chdir(cwd);
    }
    expect(fs.existsSync(path.join(ROOT, 'nested'))).toBe(false);
  });

  it('lets two processes write to the same file at once', async () => {
    const url = `file:${path.join(dir, 'shared.db')}`;
    await migrateDb(url);
    const db = await openDb(url);
    try {
      await db.gateway.create({ data: gatewayData('g') });
      await db.link.create({ data: { ...linkData('l', 'g', 'g', null) } });
      const child = `
        const { openDb } = require(${JSON.stringify(path.join(ROOT, 'db'))});
        (async () => {
          const db = await openDb(${JSON.stringify(url)});
          for (let i = 0; i < 200; i++) await db.linkEvent.create({ data: { linkId: 'l', type: 'child', message: String(i) } });
          await db.$disconnect();
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const proc = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['-e', child], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
      // Keep writing until the child is done, so the two writers overlap. better-sqlite3 answers
      // synchronously, so yield to the event loop each time or the child's exit is never seen.
      let mine = 0;
      let done = false;
      void exited.then(() => (done = true));
      while (!done || mine < 200) {
        await db.linkEvent.create({ data: { linkId: 'l', type: 'parent', message: String(mine++) } });
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await exited).toBe(0);
      expect(await db.linkEvent.count({ where: { type: 'child' } })).toBe(200);
      expect(await db.linkEvent.count({ where: { type: 'parent' } })).toBe(mine);
    } finally {
      await db.$disconnect();
    }
  });
});

describe('schema drift', () => {
  it('prisma/postgres/schema.prisma is derived from prisma/schema.prisma', () => {
    const sqlite = fs.readFileSync(LAYOUT.sqlite.schema, 'utf8');
    expect(fs.readFileSync(LAYOUT.postgresql.schema, 'utf8')).toBe(derivePgSchema(sqlite));
    expect(derivePgSchema(sqlite)).toContain('provider = "postgresql"');
    // Nothing but the datasource and the client output may differ.
    const models = (s: string) => s.slice(s.indexOf('/// A site'));
    expect(models(derivePgSchema(sqlite))).toBe(models(sqlite));
  });

  it('both migration histories build exactly the current schema', async () => {
    expect(await checkMigrations(withPg ? ['sqlite', 'postgresql'] : ['sqlite'])).toEqual([]);
  });

  it('notices a schema change that has no migration', async () => {
    const changed = fs
      .readFileSync(LAYOUT.sqlite.schema, 'utf8')
      .replace(/^(\s*hubInstance\s+String\?.*)$/m, '$1\n  extra String?');
    expect(await historyDrift('sqlite', changed)).toContainEqual(expect.stringMatching(/^missing: column Gateway\.extra /));
    if (withPg) expect(await historyDrift('postgresql', changed)).toContainEqual(expect.stringMatching(/^missing: column Gateway\.extra /));
  });
});
