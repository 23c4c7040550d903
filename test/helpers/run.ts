// What one `vitest run` shares across its test files (each file runs in a process of its own): one
// Temporal dev server, one workflow bundle, one migrated SQLite database to copy. Whichever file
// needs one first makes it, under a lock in the run's directory; the others read what it wrote.
// test/setup/run.ts (vitest globalSetup) makes that directory and, when the run ends, stops the
// server and removes it. Outside a vitest run (a benchmark, a script) there is no run directory and
// the helpers make their own, per process, as before.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withSqliteLock } from '../../db/sqlite';
import { findTemporalCli, freePort, waitForPort } from '../../controller/temporal-dev';

export const RUN_DIR_ENV = 'IPSEC_TEST_RUN_DIR';

export function runDir(): string | undefined {
  return process.env[RUN_DIR_ENV] || undefined;
}

/**
 * The run's value named `name`: made once by `make` under a lock, kept as JSON in the run directory.
 * Undefined outside a vitest run.
 */
export async function runShared<T>(name: string, make: (dir: string) => Promise<T>): Promise<T | undefined> {
  const dir = runDir();
  if (!dir) return undefined;
  const file = path.join(dir, `${name}.json`);
  const read = (): T => JSON.parse(readFileSync(file, 'utf8')) as T;
  if (existsSync(file)) return read();
  // A lock the OS releases when its holder dies (a file killed mid-way does not block the run).
  return withSqliteLock(path.join(dir, name), async () => {
    if (existsSync(file)) return read();
    const value = await make(dir);
    writeFileSync(`${file}.tmp`, JSON.stringify(value));
    renameSync(`${file}.tmp`, file);
    return value;
  });
}

/** The run's Temporal dev server, as test/setup/run.ts finds it to stop it. */
export interface SharedServer {
  address: string;
  pid: number;
  log: string;
}

export const SHARED_TEMPORAL = 'temporal-server';

/**
 * Starts the run's dev server: in memory, headless, detached from the file that happened to start
 * it (it outlives that file's process), its output in the run directory.
 */
export async function startSharedServer(dir: string): Promise<SharedServer> {
  const port = await freePort();
  const log = path.join(dir, 'temporal.log');
  const out = openSync(log, 'a');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'warn', '--log-format', 'json'];
  const child = spawn(findTemporalCli(process.env.TEMPORAL_CLI), args, { stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  child.unref();
  const exited = new Promise<false>((resolve) => child.once('exit', () => resolve(false)));
  const ready = await Promise.race([waitForPort(port, 30_000).then(() => true), exited]);
  if (!ready || child.pid === undefined) throw new Error(`the shared Temporal dev server did not start:\n${readFileSync(log, 'utf8').slice(-4000)}`);
  return { address: `127.0.0.1:${port}`, pid: child.pid, log };
}
