// UDP probes through a link's tunnel: a responder on the gateway's inner address echoes what a
// peer's prober sends, and the prober times the answers. A probe is 16 bytes (magic, sequence,
// random nonce) and the answer the same 16 bytes, so the responder cannot amplify anything; it
// answers nothing else.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';

/** UDP port of the agents' probe responders (HEALTH_PROBE_PORT). */
export const DEFAULT_PROBE_PORT = 4510;
const MAGIC = 0x494d4850; // "IMHP"
const PROBE_BYTES = 16;

const isProbe = (msg: Buffer): boolean => msg.length === PROBE_BYTES && msg.readUInt32BE(0) === MAGIC;

/** Echo responders, one per inner address, opened and closed as the agent's links come and go. */
export class ProbeResponders {
  private readonly sockets = new Map<string, Socket>();

  constructor(private readonly port: number, private readonly onError: (addr: string, err: Error) => void) {}

  /** Listens on exactly these addresses (opens the missing ones, closes the rest). */
  async serve(addrs: ReadonlySet<string>): Promise<void> {
    for (const [addr, socket] of this.sockets) {
      if (!addrs.has(addr)) {
        this.sockets.delete(addr);
        socket.close();
      }
    }
    for (const addr of addrs) {
      if (this.sockets.has(addr)) continue;
      const socket = createSocket({ type: isIPv6(addr) ? 'udp6' : 'udp4', reuseAddr: true });
      socket.on('message', (msg, from) => {
        if (isProbe(msg)) socket.send(msg, from.port, from.address);
      });
      this.sockets.set(addr, socket);
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(this.port, addr, () => {
            socket.off('error', reject);
            resolve();
          });
        });
        socket.on('error', (err) => this.onError(addr, err));
      } catch (err) {
        // Not (yet) bindable, e.g. the address is being added: the next interval tries again.
        this.sockets.delete(addr);
        socket.close();
        this.onError(addr, err as Error);
      }
    }
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }
}

export interface ProbeResult {
  sent: number;
  /** Round-trip times of the answered probes, milliseconds. */
  rttsMs: number[];
}

/**
 * Sends `count` probes from `from` to `to`:port, `spacingMs` apart, and waits up to `timeoutMs`
 * after the last for answers. Never rejects: a socket error counts as unanswered probes.
 */
export async function probe(opts: { from: string; to: string; port: number; count: number; spacingMs: number; timeoutMs: number }): Promise<ProbeResult> {
  const socket = createSocket(isIPv6(opts.to) ? 'udp6' : 'udp4');
  const nonce = randomBytes(8);
  const sentAt = new Map<number, number>();
  const rttsMs: number[] = [];
  socket.on('message', (msg) => {
    if (!isProbe(msg) || !msg.subarray(8).equals(nonce)) return;
    const seq = msg.readUInt32BE(4);
    const at = sentAt.get(seq);
    if (at === undefined) return;
    sentAt.delete(seq);
    rttsMs.push(performance.now() - at);
  });
  socket.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, opts.from, () => resolve());
    });
  } catch {
    socket.close();
    return { sent: 0, rttsMs };
  }
  let sent = 0;
  for (let seq = 0; seq < opts.count; seq++) {
    const msg = Buffer.alloc(PROBE_BYTES);
    msg.writeUInt32BE(MAGIC, 0);
    msg.writeUInt32BE(seq, 4);
    nonce.copy(msg, 8);
    sentAt.set(seq, performance.now());
    sent++;
    socket.send(msg, opts.port, opts.to);
    if (seq < opts.count - 1) await sleep(opts.spacingMs);
  }
  const deadline = performance.now() + opts.timeoutMs;
  while (sentAt.size > 0 && performance.now() < deadline) await sleep(Math.min(10, opts.timeoutMs));
  socket.close();
  return { sent, rttsMs };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
