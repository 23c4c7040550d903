// A VICI client over charon's unix socket. VICI replies carry no request id, so commands and event
// (un)registrations are sent one at a time and each reply is matched to the oldest outstanding
// request; events (type EVENT) may arrive at any moment, also in the middle of a command.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { encodePacket, PacketType, ViciStreamDecoder, type ViciMessage, type ViciPacket } from './codec';
import { ViciError } from './errors';

export interface ViciClientOptions {
  /** Default time to wait for each reply (ms). */
  timeoutMs?: number;
  /** Time to wait for the socket to accept the connection (ms). */
  connectTimeoutMs?: number;
}

export interface RequestOptions {
  /** Overrides the client's default reply timeout for this request (ms). */
  timeoutMs?: number;
}

export interface StreamedResponse {
  /** The streamed events (e.g. one `list-sa` per IKE_SA), in arrival order. */
  events: ViciMessage[];
  /** The final CMD_RESPONSE message that ends the stream. */
  response: ViciMessage;
}

export interface ViciClientEvents {
  /** An event the client subscribed to (`subscribe(name)`). */
  event: [name: string, message: ViciMessage];
  /** The connection is gone; `reason` is undefined after `close()`, else why it ended. */
  close: [reason: ViciError | undefined];
  /** A socket or protocol error; only emitted when someone listens, a 'close' always follows. */
  error: [error: Error];
}

type ReplyKind = 'command' | 'registration';

/** A request on the wire. `settle` is dropped on timeout so its late reply is consumed silently. */
interface Outstanding {
  readonly kind: ReplyKind;
  settle: ((reply: ViciPacket | ViciError) => void) | undefined;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export class ViciClient extends EventEmitter<ViciClientEvents> {
  private readonly decoder = new ViciStreamDecoder();
  private readonly outstanding: Outstanding[] = [];
  private readonly subscriptions = new Set<string>();
  private readonly collectors = new Map<string, ViciMessage[]>();
  private readonly defaultTimeoutMs: number;
  private readonly socketClosed: Promise<void>;
  private tail: Promise<void> = Promise.resolve();
  private closedBy: ViciError | undefined;
  private userClosed = false;

  private constructor(
    private readonly socket: net.Socket,
    opts: ViciClientOptions,
  ) {
    super();
    this.defaultTimeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      // Node's EventEmitter throws on an unheard 'error'; a vanished charon must not crash the agent.
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this.fail(new ViciError('CLOSED', `VICI connection failed: ${err.message}`, { cause: err }));
    });
    this.socketClosed = new Promise((resolve) => {
      socket.once('close', () => {
        this.fail(new ViciError('CLOSED', 'charon closed the VICI connection'));
        this.emit('close', this.userClosed ? undefined : this.closedBy);
        resolve();
      });
    });
  }

  /** Opens the VICI unix socket at `path` (e.g. /var/run/charon.vici). */
  static async connect(path: string, opts: ViciClientOptions = {}): Promise<ViciClient> {
    const socket = net.createConnection({ path });
    const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise<ViciClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ViciError('CONNECT_FAILED', `no answer from VICI socket ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new ViciError('CONNECT_FAILED', `cannot connect to VICI socket ${path}: ${err.message}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        // Swap error handlers in the same tick, so no socket error can go unheard in between.
        socket.off('error', onError);
        resolve(new ViciClient(socket, opts));
      });
    });
  }

  /** True once the connection is closed or failed; every later call rejects with CLOSED. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** Sends a command and returns its response; rejects with ViciError on `success = no`. */
  async request(command: string, message: ViciMessage = {}, opts: RequestOptions = {}): Promise<ViciMessage> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return this.enqueue(async () => {
      const reply = await this.exchange({ type: PacketType.CMD_REQUEST, name: command, message }, 'command', command, timeoutMs);
      return checkResponse(command, reply);
    });
  }

  /**
   * Runs a streaming command (list-sas → list-sa events, list-conns → list-conn events): registers
   * for the event, collects events until the response, then unregisters.
   */
  async streamedRequest(
    command: string,
    eventName: string,
    message: ViciMessage = {},
    opts: RequestOptions = {},
  ): Promise<StreamedResponse> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return this.enqueue(async () => {
      // A user subscription to the same event already delivers it; leave that registration alone.
      const ownRegistration = !this.subscriptions.has(eventName);
      if (ownRegistration) await this.register(eventName, timeoutMs);
      const events: ViciMessage[] = [];
      this.collectors.set(eventName, events);
      try {
        const reply = await this.exchange({ type: PacketType.CMD_REQUEST, name: command, message }, 'command', command, timeoutMs);
        return { events, response: checkResponse(command, reply) };
      } finally {
        this.collectors.delete(eventName);
        if (ownRegistration && !this.closed) {
          // A failed unregister only means stray events, which nobody collects; the result stands.
          await this.exchange({ type: PacketType.EVENT_UNREGISTER, name: eventName }, 'registration', eventName, timeoutMs).catch(
            () => undefined,
          );
        }
      }
    });
  }

  /** Registers for a named event (e.g. `child-updown`); each one is emitted as 'event'. */
  async subscribe(eventName: string, opts: RequestOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return this.enqueue(async () => {
      if (this.subscriptions.has(eventName)) return;
      // Added before the confirm arrives: the first event may share the confirm's socket chunk.
      this.subscriptions.add(eventName);
      try {
        await this.register(eventName, timeoutMs);
      } catch (err) {
        this.subscriptions.delete(eventName);
        throw err;
      }
    });
  }

  /** Stops delivery of a named event and unregisters it with charon. */
  async unsubscribe(eventName: string, opts: RequestOptions = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    return this.enqueue(async () => {
      if (!this.subscriptions.delete(eventName)) return;
      const reply = await this.exchange({ type: PacketType.EVENT_UNREGISTER, name: eventName }, 'registration', eventName, timeoutMs);
      if (reply.type === PacketType.EVENT_UNKNOWN) {
        throw new ViciError('UNKNOWN_EVENT', `charon refused to unregister event "${eventName}"`, { command: eventName });
      }
    });
  }

  /** Closes the connection; outstanding requests fail with CLOSED at once. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.userClosed = true;
      this.fail(new ViciError('CLOSED', 'VICI client closed'));
    }
    await this.socketClosed;
  }

  private async register(eventName: string, timeoutMs: number): Promise<void> {
    const reply = await this.exchange({ type: PacketType.EVENT_REGISTER, name: eventName }, 'registration', eventName, timeoutMs);
    if (reply.type === PacketType.EVENT_UNKNOWN) {
      throw new ViciError('UNKNOWN_EVENT', `charon has no event "${eventName}"`, { command: eventName });
    }
  }

  /** Runs jobs strictly one after another, whatever the outcome of the previous one. */
  private async enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Writes one packet and waits for the reply that matches it. */
  private async exchange(packet: ViciPacket, kind: ReplyKind, label: string, timeoutMs: number): Promise<ViciPacket> {
    if (this.closedBy) throw this.closedBy;
    const bytes = encodePacket(packet);
    return new Promise<ViciPacket>((resolve, reject) => {
      const entry: Outstanding = { kind, settle: undefined };
      const timer = setTimeout(() => {
        // The reply may still come; the entry stays queued so it is not taken for the next reply.
        entry.settle = undefined;
        reject(new ViciError('TIMEOUT', `no reply to "${label}" within ${timeoutMs} ms`, { command: label }));
      }, timeoutMs);
      entry.settle = (reply) => {
        clearTimeout(timer);
        entry.settle = undefined;
        if (reply instanceof ViciError) reject(reply);
        else resolve(reply);
      };
      this.outstanding.push(entry);
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    let packets: ViciPacket[];
    try {
      packets = this.decoder.push(chunk);
    } catch (err) {
      this.protocolFailure(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const packet of packets) {
      if (this.closed) return;
      this.onPacket(packet);
    }
  }

  private onPacket(packet: ViciPacket): void {
    let kind: ReplyKind;
    switch (packet.type) {
      case PacketType.EVENT:
        this.collectors.get(packet.name)?.push(packet.message);
        if (this.subscriptions.has(packet.name)) this.emitEvent(packet.name, packet.message);
        return;
      case PacketType.CMD_RESPONSE:
      case PacketType.CMD_UNKNOWN:
        kind = 'command';
        break;
      case PacketType.EVENT_CONFIRM:
      case PacketType.EVENT_UNKNOWN:
        kind = 'registration';
        break;
      default:
        this.protocolFailure(new Error(`charon sent a client-only packet (type ${packet.type})`));
        return;
    }
    const head = this.outstanding.shift();
    if (head === undefined || head.kind !== kind) {
      this.protocolFailure(new Error(`unexpected reply packet type ${packet.type} (expected a ${head?.kind ?? 'no'} reply)`));
      return;
    }
    head.settle?.(packet);
  }

  /** A throwing listener must not abort the packet loop (that would desync replies); rethrow later. */
  private emitEvent(name: string, message: ViciMessage): void {
    try {
      this.emit('event', name, message);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  private protocolFailure(err: Error): void {
    const error = new ViciError('PROTOCOL', `VICI protocol error: ${err.message}`, { cause: err });
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.fail(error);
  }

  /** Marks the connection dead, fails every waiting request with `reason`, and drops the socket. */
  private fail(reason: ViciError): void {
    if (this.closedBy) return;
    this.closedBy = reason;
    for (const entry of this.outstanding.splice(0)) entry.settle?.(reason);
    this.subscriptions.clear();
    this.socket.destroy();
  }
}

function checkResponse(command: string, reply: ViciPacket): ViciMessage {
  if (reply.type === PacketType.CMD_UNKNOWN) {
    throw new ViciError('UNKNOWN_COMMAND', `charon does not know the command "${command}"`, { command });
  }
  if (reply.type !== PacketType.CMD_RESPONSE) {
    throw new ViciError('PROTOCOL', `unexpected reply type ${reply.type} to "${command}"`, { command });
  }
  const { success, errmsg } = reply.message;
  if (success === 'no') {
    const reason = typeof errmsg === 'string' ? errmsg : 'no reason given';
    throw new ViciError('COMMAND_FAILED', `${command} failed: ${reason}`, {
      command,
      errmsg: typeof errmsg === 'string' ? errmsg : undefined,
    });
  }
  return reply.message;
}
