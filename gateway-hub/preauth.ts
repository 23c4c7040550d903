// Connections to the agent listener that have not authenticated yet: at most `perSource` per
// source (see source.ts) and `max` in all, each with a deadline. A connection leaves this account
// once its agent authenticated and said hello; any other is closed by its deadline at the latest,
// so sockets nobody authenticates (idle TCP, slow headers, upgrades without a hello) cannot pile up.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { limitKey } from '../lib/net';

export interface PreauthOptions {
  perSource: number;
  max: number;
  /** From TCP accept to the agent's hello on an authenticated socket. */
  timeoutMs: number;
  /** A connection was refused for being over a limit (for sampled logging). */
  onRefused: (source: string, limit: 'per-source' | 'total') => void;
}

interface Entry {
  readonly socket: Socket;
  readonly source: string;
  readonly timer: NodeJS.Timeout;
  readonly onClose: () => void;
}

/** What identifies a connection both as the raw TCP socket and as the TLS socket wrapping it. */
export function peerKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string | undefined {
  return socket.remoteAddress && socket.remotePort ? `${socket.remoteAddress}|${socket.remotePort}` : undefined;
}

export class PreauthGuard {
  private readonly entries = new Map<string, Entry>();
  private readonly perSource = new Map<string, number>();

  constructor(private readonly o: PreauthOptions) {}

  /** Accounts every TCP connection of `server` from its accept (before TLS and HTTP). */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  /** Connections not yet through authentication and hello. */
  get size(): number {
    return this.entries.size;
  }

  /** The agent on this connection authenticated and said hello: it no longer counts, and its deadline is off. */
  authenticated(key: string | undefined): void {
    if (key) this.release(key);
  }

  /** Closes every connection still in the account (the hub is stopping). */
  closeAll(): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.perSource.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.socket.destroy();
    }
  }

  private admit(socket: Socket): void {
    const key = peerKey(socket);
    if (!key) {
      socket.destroy(); // already gone
      return;
    }
    const source = limitKey(socket.remoteAddress);
    const count = this.perSource.get(source) ?? 0;
    // No request can be read yet, so there is nobody to answer: closing at once is the cheapest.
    if (count >= this.o.perSource || this.entries.size >= this.o.max) {
      socket.destroy();
      this.o.onRefused(source, count >= this.o.perSource ? 'per-source' : 'total');
      return;
    }
    const timer = setTimeout(() => socket.destroy(), this.o.timeoutMs);
    timer.unref();
    const onClose = () => {
      if (this.entries.get(key)?.socket === socket) this.release(key);
    };
    this.entries.set(key, { socket, source, timer, onClose });
    this.perSource.set(source, count + 1);
    socket.once('close', onClose);
  }

  private release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    clearTimeout(entry.timer);
    // An agent keeps its socket for days: hold nothing of this account on it.
    entry.socket.off('close', entry.onClose);
    const left = (this.perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) this.perSource.set(entry.source, left);
    else this.perSource.delete(entry.source);
  }
}
