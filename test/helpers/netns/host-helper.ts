// Drives host-helper-main.mjs (one per namespace that needs one) over stdin/stdout JSON lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'host-helper-main.mjs');

export interface ProbeResult {
  ok: boolean;
  /** Milliseconds the probe (or the wait) took, measured inside the namespace. */
  ms: number;
  error?: string;
}

/** What a long-lived, checked TCP connection saw (see host-helper-main.mjs `stream`). */
export interface StreamResult extends ProbeResult {
  sent: number;
  echoed: number;
  maxGapMs: number;
}

/** What `read` got: the bytes the server sent before closing (see host-helper-main.mjs `read`). */
export interface ReadResult extends ProbeResult {
  data: string;
}

/** An HTTP CONNECT proxy to tunnel a `read` through. */
export interface ProxyAddress {
  ip: string;
  port: number;
}

type Request =
  | { op: 'listen'; port: number }
  | { op: 'echo'; port: number }
  | { op: 'stream'; ip: string; port: number; durationMs: number; chunkBytes?: number; everyMs?: number }
  | { op: 'probe'; ip: string; port: number; timeoutMs: number }
  | { op: 'whoami'; port: number }
  | { op: 'read'; ip: string; port: number; timeoutMs: number; proxy?: ProxyAddress }
  | { op: 'wait'; ip: string; port: number; timeoutMs: number; intervalMs: number; attemptTimeoutMs: number };

interface Reply extends ProbeResult {
  id?: number;
  ready?: boolean;
  sent?: number;
  echoed?: number;
  maxGapMs?: number;
  data?: string;
}

export class HostHelper {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private exitError: Error | undefined;

  private constructor(
    private readonly ns: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {}

  /** Spawns the helper in `ns` and waits for its ready line. */
  static async start(ns: string): Promise<HostHelper> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SCRIPT], { stdio: 'pipe' });
    const helper = new HostHelper(ns, child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const ready = new Promise<void>((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as Reply;
        if (msg.ready === true) resolve();
        else if (msg.id !== undefined) helper.settle(msg.id, msg);
      });
      child.once('exit', (code, signal) => {
        helper.exitError = new Error(`host helper in ${ns} exited (${signal ?? code}): ${stderr.trim()}`);
        for (const p of helper.pending.values()) p.reject(helper.exitError);
        helper.pending.clear();
        reject(helper.exitError);
      });
    });
    await ready;
    return helper;
  }

  async listen(port: number): Promise<void> {
    const r = await this.call({ op: 'listen', port });
    if (!r.ok) throw new Error(`cannot listen on port ${port} in ${this.ns}: ${r.error ?? 'unknown error'}`);
  }

  async echo(port: number): Promise<void> {
    const r = await this.call({ op: 'echo', port });
    if (!r.ok) throw new Error(`cannot listen on port ${port} in ${this.ns}: ${r.error ?? 'unknown error'}`);
  }

  async whoami(port: number): Promise<void> {
    const r = await this.call({ op: 'whoami', port });
    if (!r.ok) throw new Error(`cannot listen on port ${port} in ${this.ns}: ${r.error ?? 'unknown error'}`);
  }

  async read(ip: string, port: number, timeoutMs: number, proxy?: ProxyAddress): Promise<ReadResult> {
    const r = await this.call({ op: 'read', ip, port, timeoutMs, ...(proxy ? { proxy } : {}) });
    return { ok: r.ok, ms: r.ms, ...(r.error ? { error: r.error } : {}), data: r.data ?? '' };
  }

  async stream(ip: string, port: number, durationMs: number): Promise<StreamResult> {
    const r = await this.call({ op: 'stream', ip, port, durationMs });
    return { ok: r.ok, ms: r.ms, ...(r.error ? { error: r.error } : {}), sent: r.sent ?? 0, echoed: r.echoed ?? 0, maxGapMs: r.maxGapMs ?? 0 };
  }

  async probe(ip: string, port: number, timeoutMs: number): Promise<ProbeResult> {
    return this.call({ op: 'probe', ip, port, timeoutMs });
  }

  async wait(ip: string, port: number, timeoutMs: number, intervalMs: number, attemptTimeoutMs: number): Promise<ProbeResult> {
    return this.call({ op: 'wait', ip, port, timeoutMs, intervalMs, attemptTimeoutMs });
  }

  /** Ends the helper (closing stdin makes it exit) and waits for it. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }

  private async call(req: Request): Promise<Reply> {
    if (this.exitError) throw this.exitError;
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  private settle(id: number, reply: Reply): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    p?.resolve(reply);
  }
}
