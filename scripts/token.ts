// API tokens from the command line, against the controller's database (DATABASE_URL, else
// DATA_DIR/controller.db, as the controller resolves it): how the first admin token is made.
//   npm run token -- create --role admin --name NAME [--expires-days N]   prints the token once
//   npm run token -- list
//   npm run token -- revoke ID
// A revocation applies within 2 s on every running controller (api/auth.ts TOKEN_CACHE_MS).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrateDb, openDb } from '../db';
import { DEFAULT_DATABASE_URL } from '../db/url';
import { isRole, ROLES } from '../api/roles';
import { TOKEN_NAME } from '../api/schemas/tokens';
import { issueToken, tokenView } from '../api/tokens';
import { createStore } from '../store';

const USAGE = `usage: npm run token -- create --role ${ROLES.join('|')} --name NAME [--expires-days N] | list | revoke ID`;

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export function databaseUrlOf(env: NodeJS.ProcessEnv): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  return env.DATA_DIR ? `file:${path.join(path.resolve(env.DATA_DIR), 'controller.db')}` : DEFAULT_DATABASE_URL;
}

/** Runs one command; the exit code (2: bad usage, 1: refused, 0: done). */
export async function runTokenCli(argv: string[], env: NodeJS.ProcessEnv, io: Output): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { role: { type: 'string' }, name: { type: 'string' }, 'expires-days': { type: 'string' } } });
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, id, ...extra] = parsed.positionals;
  const checked = check(command, id, extra, parsed.values);
  if (typeof checked === 'string') {
    io.err(`${checked}\n${USAGE}`);
    return 2;
  }
  const url = databaseUrlOf(env);
  await migrateDb(url);
  const db = await openDb(url);
  try {
    const store = createStore(db).tokens;
    const now = new Date();
    if (checked.command === 'create') {
      const { record, token } = await issueToken(store, { ...checked.request, createdBy: 'cli' }, now);
      io.out(`Created ${record.role} token ${record.id} ("${record.name}")${record.expiresAt ? `, expires ${record.expiresAt.toISOString()}` : ''}.`);
      io.out('The token is shown this once; keep it in a secret store:');
      io.out(token);
      return 0;
    }
    if (checked.command === 'list') {
      const tokens = await store.list();
      if (!tokens.length) io.out('No API tokens.');
      for (const t of tokens.map((record) => tokenView(record, now))) {
        io.out([t.id, t.state, t.role, t.prefix, JSON.stringify(t.name), `by ${t.createdBy}`, `expires ${t.expiresAt ?? 'never'}`, `last used ${t.lastUsedAt ?? 'never'}`].join('  '));
      }
      return 0;
    }
    const record = await store.get(checked.id);
    if (!record) {
      io.err(`no API token ${checked.id}`);
      return 1;
    }
    const revoked = await store.revoke(record.id, now);
    io.out(revoked ? `Revoked ${record.id} ("${record.name}").` : `${record.id} was already revoked.`);
    return 0;
  } finally {
    await db.$disconnect();
  }
}

type Checked = { command: 'create'; request: { name: string; role: (typeof ROLES)[number]; expiresInDays?: number } } | { command: 'list' } | { command: 'revoke'; id: string };

function check(command: string | undefined, id: string | undefined, extra: string[], values: { role?: string; name?: string; 'expires-days'?: string }): Checked | string {
  if (extra.length) return `unexpected arguments: ${extra.join(' ')}`;
  switch (command) {
    case 'create': {
      if (id !== undefined) return `unexpected argument: ${id}`;
      if (!values.role || !isRole(values.role)) return `--role: expected ${ROLES.join(', ')}`;
      const name = TOKEN_NAME.safeParse(values.name ?? '');
      if (!name.success) return `--name: ${name.error.issues[0]?.message ?? 'invalid'}`;
      const days = values['expires-days'];
      if (days !== undefined && !/^\d{1,4}$/.test(days)) return '--expires-days: expected a whole number of days, 1 to 3650';
      const expiresInDays = days === undefined ? undefined : Number(days);
      if (expiresInDays !== undefined && (expiresInDays < 1 || expiresInDays > 3650)) return '--expires-days: expected a whole number of days, 1 to 3650';
      return { command, request: { name: name.data, role: values.role, ...(expiresInDays ? { expiresInDays } : {}) } };
    }
    case 'list':
      if (id !== undefined || values.role || values.name || values['expires-days']) return 'list takes no arguments';
      return { command };
    case 'revoke':
      if (!id) return 'revoke: give the token id (npm run token -- list shows it)';
      return { command, id };
    default:
      return command ? `unknown command "${command}"` : 'no command';
  }
}

if (require.main === module) {
  runTokenCli(process.argv.slice(2), process.env, { out: (line) => console.log(line), err: (line) => console.error(line) }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`token: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
