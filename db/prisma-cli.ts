// Runs the local Prisma CLI (6.19, WASM engines, see prisma.config.ts) for migrations and codegen.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KINDS, LAYOUT, PRISMA_BIN, PRISMA_CONFIG, ROOT } from './layout';
import { absoluteUrl, type DatabaseKind } from './url';

const UNREF_PRELOAD = path.join(__dirname, 'unref-long-timers.cjs');

export interface PrismaRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What to throw if `code` is not what the caller expected; carries Prisma's own message. */
  error: Error;
}

/**
 * Runs `prisma <args>` against `url` and reports how it ended. Output is captured, never printed.
 * The URL is made absolute first because the CLI runs from the project root, not the caller's cwd.
 */
export async function runPrismaRaw(args: string[], url: string, timeoutMs = 300_000): Promise<PrismaRun> {
  const env = {
    ...process.env,
    DATABASE_URL: absoluteUrl(url),
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require=${UNREF_PRELOAD}`].filter(Boolean).join(' '),
    // Nothing outside the package registries is reachable: skip telemetry and update checks.
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    NO_COLOR: '1',
  };
  const child = spawn(PRISMA_BIN, [...args, '--config', PRISMA_CONFIG], { cwd: ROOT, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const how = code === null ? `killed after ${timeoutMs} ms` : `exit ${code}`;
    const error = new Error(`prisma ${args.join(' ')} failed (${how}): ${prismaMessage(stderr, stdout)}`);
    return { code, stdout, stderr, error };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `prisma <args>` against `url`; returns stdout, or throws with Prisma's message. */
export async function runPrisma(args: string[], url: string): Promise<string> {
  const run = await runPrismaRaw(args, url);
  if (run.code !== 0) throw run.error;
  return run.stdout;
}

/** Prisma prints banners and warnings (stdout) around the real error (stderr, from "Error:" on). */
function prismaMessage(stderr: string, stdout: string): string {
  for (const text of [stderr, stdout]) {
    const at = text.search(/^Error: /m);
    if (at >= 0) return text.slice(at).trim();
  }
  return `${stderr}\n${stdout}`.trim();
}

/**
 * Placeholder URLs for commands that never connect: they tell prisma.config.ts the provider and
 * satisfy the schema's env("DATABASE_URL"), which must match the provider to validate.
 */
export const PROVIDER_URL: Record<DatabaseKind, string> = {
  sqlite: 'file:./.data/unused.db',
  postgresql: 'postgresql://localhost/unused',
};

/**
 * Generates both runtime clients (with engineType "client" each accepts only its own provider's
 * adapter). Skips a client whose schema and Prisma version are unchanged since it was generated.
 */
export async function generateClients(opts: { force?: boolean } = {}): Promise<void> {
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/prisma/package.json'), 'utf8')) as { version: string }).version;
  await Promise.all(
    KINDS.map(async (kind) => {
      const { schema, client } = LAYOUT[kind];
      const stamp = path.join(client, '.schema-hash');
      const hash = crypto.createHash('sha256').update(version).update(fs.readFileSync(schema)).digest('hex');
      if (!opts.force && readOrNull(stamp) === hash && fs.existsSync(path.join(client, 'client.ts'))) return;
      await runPrisma(['generate', '--schema', schema], PROVIDER_URL[kind]);
      fs.writeFileSync(stamp, hash);
    }),
  );
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
