// Thin wrappers over execFile for the ip/nft/sh calls the fixture makes; errors carry the command and
// its stderr so a failed setup step says exactly what the kernel refused.
import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Written to the child's stdin (e.g. an `ip -batch -` or `nft -f -` script). */
  input?: string;
  /** Resolve with the exit code instead of rejecting on a non-zero exit. */
  allowFailure?: boolean;
  timeoutMs?: number;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`\`${command}\` exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Runs a program without a shell and collects its output. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await new Promise<RunResult>((resolve) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ stdout, stderr: err !== null && stderr === '' ? err.message : stderr, code });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
  if (result.code !== 0 && opts.allowFailure !== true) {
    throw new CommandError([file, ...args].join(' '), result);
  }
  return result;
}

/** Runs a shell script inside a network namespace (one spawn for many setup steps). */
export async function nsShell(ns: string, script: string, opts: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, 'sh', '-euc', script], opts);
}

/** Runs `ip -batch -` (inside `ns` when given): one spawn for many link/addr/route commands. */
export async function ipBatch(lines: readonly string[], ns?: string): Promise<void> {
  if (lines.length === 0) return;
  const args = ns === undefined ? ['-batch', '-'] : ['-n', ns, '-batch', '-'];
  await run('ip', args, { input: `${lines.join('\n')}\n` });
}
