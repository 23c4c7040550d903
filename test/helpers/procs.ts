// Controller processes for failure tests: `node --import tsx controller/main.ts` as a real child
// process with its configuration in the environment, exactly as `npm run controller` runs it. One
// process, no `tsx` CLI in front: that wrapper relays SIGTERM and, when the busy child does not
// acknowledge it within 30 ms, SIGKILLs it, turning a clean stop under load into a crash. Each runs
// in its own process group, so a signal to the group reaches anything it started. Output goes to one log file per process in a temp directory;
// `dumpLogsOnFailure` prints their tails when a test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import type { Role } from '../../controller/config';
import type { BudgetOverrides } from '../../cloud/budgets';
import { TEST_CLOUD_ENDPOINT_ALLOW, TEST_PAYLOAD_KEY_HEX } from './controller';
import { urlHost } from '../../lib/net';

const ROOT = path.resolve(__dirname, '..', '..');

/** A temp directory holding one log file per process of a test file. */
export class LogDir {
  readonly dir: string;
  /** Set once a test failed: remove() then keeps the directory, so the logs can be read. */
  keep = false;

  constructor(prefix: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  }

  file(name: string): string {
    return path.join(this.dir, `${name}.log`);
  }

  /** The last `lines` lines of one log. */
  tail(name: string, lines = 60): string {
    const f = this.file(name);
    if (!existsSync(f)) return '(no log)';
    return readFileSync(f, 'utf8').split('\n').slice(-lines - 1).join('\n');
  }

  /** Every log's tail, headed by its path. */
  dump(lines = 60): string {
    if (!existsSync(this.dir)) return '';
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.log'))
      .sort()
      .map((f) => `----- ${path.join(this.dir, f)} (last ${lines} lines) -----\n${this.tail(f.slice(0, -4), lines)}`)
      .join('\n');
  }

  /** Removes the directory unless a test failed. */
  remove(): void {
    if (this.keep) return;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** For `onTestFailed`: prints the log tails of every process, and keeps the directory. */
export function dumpLogsOnFailure(logs: LogDir): () => void {
  return () => {
    logs.keep = true;
    console.error(`[failure logs] ${logs.dir}\n${logs.dump()}`);
  };
}

export interface ApiResult<T> {
  status: number;
  body: T;
}

/** A tiny JSON client for a controller's REST API. */
export async function apiCall<T = unknown>(baseUrl: string, method: string, p: string, body?: unknown): Promise<ApiResult<T>> {
  const res = await fetch(`${baseUrl}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface ControllerProcOptions {
  /** Names the log file (`<name>.log`); also the default instance id prefix. */
  name: string;
  logs: LogDir;
  temporalAddress: string;
  /** TEMPORAL_NAMESPACE (a test file's own namespace on the run's shared server); default `default`. */
  temporalNamespace?: string;
  databaseUrl: string;
  taskQueue: string;
  /** SECRET_KEY (base64 or hex), the same on every process sharing the database. */
  secretKey: string;
  roles?: Role[];
  /** Where the agents' listener binds (default loopback); the API listens on loopback. */
  agentHost?: string;
  /** The agents' port when the hub role runs (keep it to restart "the same" controller); a free one when omitted. */
  agentPort?: number;
  instanceId?: string;
  heartbeatMs?: number;
  rpcTimeoutMs?: number;
  cloudRateLimits?: BudgetOverrides;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface ControllerProc {
  readonly name: string;
  readonly instanceId: string;
  readonly roles: Role[];
  /** Base URL of the API, when the api role runs. */
  readonly url: string | undefined;
  readonly port: number | undefined;
  /** Base URL of the agents' listener, when the hub role runs. */
  readonly agentUrl: string | undefined;
  readonly agentPort: number | undefined;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process (group leader) has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Whether any process of its group (the controller and what it started) still exists. */
  groupAlive(): boolean;
  api<T = unknown>(method: string, p: string, body?: unknown): Promise<ApiResult<T>>;
  /** Sends `signal` to the whole process group and waits for the exit (SIGKILL: no clean stop). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Clean stop (SIGTERM), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/** Starts `node --import tsx controller/main.ts` and resolves once it printed that it runs (and its API answers). */
export async function startControllerProc(o: ControllerProcOptions): Promise<ControllerProc> {
  const roles = o.roles ?? ['api', 'hub', 'worker'];
  const port = roles.includes('api') ? await portOutsideEphemeralRange() : undefined;
  const agentHost = o.agentHost ?? '127.0.0.1';
  const agentPort = roles.includes('hub') ? (o.agentPort ?? (await portOutsideEphemeralRange(agentHost))) : undefined;
  const instanceId = o.instanceId ?? `${o.name}-${randomBytes(3).toString('hex')}`;
  const logFile = o.logs.file(o.name);
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`===== ${new Date().toISOString()} starting controller ${instanceId} (roles ${roles.join(',')}${port ? `, API port ${port}` : ''}${agentPort ? `, agent port ${agentPort}` : ''})\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    // The run's response checker (test/setup/run.ts) reaches controllers in their own processes too.
    ...(process.env.API_CONTRACT_CHECK ? { API_CONTRACT_CHECK: process.env.API_CONTRACT_CHECK } : {}),
    ROLES: roles.join(','),
    HOST: '127.0.0.1',
    PORT: String(port ?? 0),
    AGENT_HOST: agentHost,
    AGENT_PORT: String(agentPort ?? 0),
    TEMPORAL_PAYLOAD_KEY: TEST_PAYLOAD_KEY_HEX,
    CLOUD_ENDPOINT_ALLOW: TEST_CLOUD_ENDPOINT_ALLOW.join(','),
    DATA_DIR: path.join(o.logs.dir, `${o.name}-data`),
    DATABASE_URL: o.databaseUrl,
    TEMPORAL_ADDRESS: o.temporalAddress,
    ...(o.temporalNamespace ? { TEMPORAL_NAMESPACE: o.temporalNamespace } : {}),
    TEMPORAL_TASK_QUEUE: o.taskQueue,
    SECRET_KEY: o.secretKey,
    HUB_INSTANCE_ID: instanceId,
    HEARTBEAT_MS: String(o.heartbeatMs ?? 1000),
    RPC_TIMEOUT_MS: String(o.rpcTimeoutMs ?? 10_000),
    HELLO_TIMEOUT_MS: '5000',
    LOG_LEVEL: process.env.TEST_LOG ? 'debug' : 'info',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(o.cloudRateLimits ? { CLOUD_RATE_LIMITS: JSON.stringify(o.cloudRateLimits) } : {}),
    ...o.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'controller', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A crashed test run must not leave controllers behind.
    process.once('exit', () => {
      for (const c of live) killGroup(c, 'SIGKILL');
    });
  }
  let ready = false;
  let printed = '';
  const onReady: Array<() => void> = [];
  const banner = `controller ${instanceId} running roles`;
  child.stdout.on('data', (b: Buffer) => {
    log.write(b);
    if (!ready) {
      printed = (printed + b.toString()).slice(-4096);
      if (printed.includes(banner)) {
        ready = true;
        for (const f of onReady) f();
      }
    }
  });
  child.stderr.on('data', (b: Buffer) => log.write(b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      // Anything the controller started (a Temporal dev server) goes with it.
      killGroup(child, 'SIGKILL');
      log.write(`===== ${new Date().toISOString()} exited (code ${code}, signal ${signal})\n`);
      log.end();
      resolve({ code, signal });
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = port !== undefined ? `http://127.0.0.1:${port}` : undefined;
  const agentUrl = agentPort !== undefined ? `http://${urlHost(agentHost)}:${agentPort}` : undefined;

  const proc: ControllerProc = {
    name: o.name,
    instanceId,
    roles,
    url,
    port,
    agentUrl,
    agentPort,
    pid: child.pid!,
    logFile,
    exited,
    running,
    groupAlive: () => {
      try {
        process.kill(-child.pid!, 0);
        return true;
      } catch {
        return false;
      }
    },
    api: (method, p, body) => {
      if (!url) throw new Error(`controller ${o.name} serves no HTTP (roles ${roles.join(',')})`);
      return apiCall(url, method, p, body);
    },
    async kill(signal = 'SIGKILL') {
      if (!running()) return;
      killGroup(child, signal);
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!running()) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };

  const timeoutMs = o.readyTimeoutMs ?? 60_000;
  const started = Date.now();
  try {
    await Promise.race([
      new Promise<void>((resolve) => (ready ? resolve() : onReady.push(resolve))),
      exited.then(({ code, signal }) => {
        throw new Error(`controller ${o.name} exited during start (code ${code}, signal ${signal})`);
      }),
      new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`controller ${o.name} did not start within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    if (roles.includes('api')) {
      for (;;) {
        const ok = await apiCall(url!, 'GET', '/api/health').then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        if (!running()) throw new Error(`controller ${o.name} exited during start`);
        if (Date.now() - started > timeoutMs) throw new Error(`controller ${o.name}'s API did not answer within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    await proc.kill();
    throw new Error(`${(err as Error).message}; log ${logFile}:\n${o.logs.tail(o.name, 40)}`);
  }
  return proc;
}

/** Polls `fn` until it returns a value other than undefined; throws with `what` after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A free port below the kernel's ephemeral range (32768+), for servers that are stopped and started
 * again on the same port: while such a server is down, an ephemeral port can be handed to any
 * outgoing connection on the machine (or a client retrying it can connect to itself), and the
 * restart then fails with EADDRINUSE.
 */
export async function portOutsideEphemeralRange(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, host, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found in 20000-31999');
}
