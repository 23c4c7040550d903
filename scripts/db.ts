// Database tooling: `tsx scripts/db.ts <command>`.
//   generate             derive prisma/postgres/schema.prisma from prisma/schema.prisma, then generate
//                        both clients into generated/ (skipped when nothing changed; --force redoes)
//   deploy               apply pending migrations to DATABASE_URL (default file:./.data/controller.db)
//   status               `prisma migrate status` for DATABASE_URL
//   new-migration NAME   add migration NAME to both histories (SQLite and PostgreSQL); see
//                        db/tooling/migrations.ts for how. Needs PostgreSQL (TEST_PG_URL).
//   check                exit 1 unless both histories build exactly the current schema and the
//                        PostgreSQL schema file is derived from the SQLite one. Needs PostgreSQL.
// Not from '../db': that module loads the generated clients, which this script is what creates.
import { migrateDb } from '../db/migrate';
import { generateClients, runPrismaRaw } from '../db/prisma-cli';
import { checkMigrations, newMigration } from '../db/tooling/migrations';
import { syncPgSchema } from '../db/tooling/pg-schema';
import { DEFAULT_DATABASE_URL, redactUrl } from '../db/url';

const USAGE = 'usage: tsx scripts/db.ts generate [--force] | deploy | status | new-migration <name> | check';

async function main(argv: string[]): Promise<number> {
  const [command, arg] = argv;
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  switch (command) {
    case 'generate':
      if (syncPgSchema()) console.log('Updated prisma/postgres/schema.prisma');
      await generateClients({ force: arg === '--force' });
      return 0;
    case 'deploy':
      await migrateDb(url);
      console.log(`Database at ${redactUrl(url)} is up to date`);
      return 0;
    case 'status': {
      // Prisma's own report; exit 1 means pending or failed migrations, so pass it through.
      const run = await runPrismaRaw(['migrate', 'status'], url);
      process.stdout.write(run.stdout);
      if (run.code !== 0) process.stderr.write(run.stderr);
      return run.code ?? 1;
    }
    case 'new-migration': {
      if (!arg) throw new Error(USAGE);
      const dir = await newMigration(arg);
      console.log(`Created prisma/migrations/${dir} and prisma/postgres/migrations/${dir}; checking...`);
      return report(await checkMigrations());
    }
    case 'check':
      return report(await checkMigrations());
    default:
      console.error(USAGE);
      return 2;
  }
}

function report(problems: string[]): number {
  for (const p of problems) console.error(`✗ ${p}`);
  if (!problems.length) console.log('✓ schema files and both migration histories agree');
  return problems.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
