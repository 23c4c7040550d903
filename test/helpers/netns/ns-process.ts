// A daemon the fixture runs in a namespace (charon, tinyproxy): its child process, whether it runs,
// how to stop or kill it, and the tail of its output and log for error messages.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export abstract class NsProcess {
  protected child: ChildProcess | undefined;
  protected exited: Promise<void> = Promise.resolve();

  constructor(protected readonly files: { stdio: string; log: string }) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Takes `child` as the process; `exitedEarly()` turns true once it exits. */
  protected adopt(child: ChildProcess): () => boolean {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    return () => gone;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Idempotent. */
  async stop(graceMs = 3_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL at once, like a crash. */
  async kill(): Promise<void> {
    if (this.child === undefined || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last lines of its output and log, for error messages. */
  logTail(lines = 30): string {
    const read = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    return `${read(this.files.stdio)}${read(this.files.log)}`.split('\n').slice(-lines).join('\n');
  }
}
