// Runs a Temporal dev server (the Temporal CLI's `server start-dev`) as a child process, for
// `npm start` on embedded defaults and for the test harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';

export interface DevServer {
  address: string;
  /** The server's process id (benchmarks read its CPU time from /proc). */
  pid?: number;
  uiUrl?: string;
  stop(): Promise<void>;
}

/** The `temporal` binary: explicit path, else on PATH, else the project's virtualenv. */
export function findTemporalCli(explicit?: string): string {
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'temporal');
    if (dir && existsSync(p)) return p;
  }
  const local = path.resolve(__dirname, '..', '.tools', 'venv', 'bin', 'temporal');
  if (existsSync(local)) return local;
  throw new Error('the Temporal CLI was not found: run `npm run setup` (installs it into .tools/venv) or set TEMPORAL_CLI or TEMPORAL_ADDRESS');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startDevServer(opts: {
  cli?: string;
  port: number;
  uiPort?: number;
  /** Persist to this SQLite file; in-memory when omitted. */
  dbFile?: string;
  headless?: boolean;
  namespace?: string;
  onOutput?: (line: string) => void;
}): Promise<DevServer> {
  const cli = findTemporalCli(opts.cli);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn', '--log-format', 'json'];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.headless) args.push('--headless');
  else if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  // Own process group, so stopping it also stops anything it spawned.
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      out.push(line);
      if (out.length > 50) out.shift();
      opts.onOutput?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await Promise.race([waitForPort(opts.port, 30_000).then(() => true), exited.then(() => false)]);
  if (!ready) throw new Error(`temporal dev server exited during start:\n${out.join('\n')}`);
  return {
    address: `127.0.0.1:${opts.port}`,
    pid: child.pid,
    ...(opts.headless || !opts.uiPort ? {} : { uiUrl: `http://127.0.0.1:${opts.uiPort}` }),
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, 5000);
  await exited;
  clearTimeout(killer);
}

export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
