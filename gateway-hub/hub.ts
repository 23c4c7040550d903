// The controller's WebSocket endpoint for agents: authentication before the upgrade, hello,
// heartbeats, presence, and request/response RPC whose ids and timeouts the hub owns.
// Bookkeeping follows NetBird's job manager: pending requests by id, a reconnect replaces the old
// socket, a disconnect fails that gateway's pending requests at once, and a response is accepted
// only from the connection the request went to.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import {
  AGENT_PATH,
  AgentFrame,
  CloseCode,
  MAX_FRAME_BYTES,
  Methods,
  PROTOCOL_VERSION,
  ProtocolError,
  closeReason,
  frameText,
  parseAuthHeader,
  parseFrame,
  type Facts,
  type HubFrame,
  type Method,
  type Params,
  type Result,
} from '../protocol/messages';
import { asGatewayId, type GatewayId } from '../protocol/ids';
import { secretMatches } from '../lib/crypto';
import type { Logger } from '../lib/log';
import { HubError } from './errors';
import type { PresenceStore } from './presence';

export interface TunnelReport {
  name: string;
  up: boolean;
  reason?: string;
  at: string;
}

export interface HubOptions {
  instanceId: string;
  store: PresenceStore;
  log: Logger;
  heartbeatMs: number;
  rpcTimeoutMs: number;
  helloTimeoutMs: number;
  /** Called after a gateway's hello was recorded (also on every reconnect). */
  onOnline?: (gatewayId: GatewayId, info: { observedIp: string | undefined; facts: Facts }) => void;
  /** Called when the agent reports a tunnel going up or down. */
  onTunnel?: (gatewayId: GatewayId, report: TunnelReport) => void;
  /** Called when the agent's facts change while connected (e.g. a new public address). */
  onFacts?: (gatewayId: GatewayId, facts: Facts) => void;
  /** Called when a gateway's socket closed and no newer socket replaced it. */
  onOffline?: (gatewayId: GatewayId) => void;
}

interface Conn {
  readonly gatewayId: GatewayId;
  readonly ws: WebSocket;
  readonly observedIp: string | undefined;
  ready: boolean;
  alive: boolean;
  readonly pending: Set<string>;
  helloTimer?: NodeJS.Timeout;
}

interface Pending {
  readonly conn: Conn;
  readonly method: Method;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class GatewayHub {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly conns = new Map<GatewayId, Conn>();
  private readonly pending = new Map<string, Pending>();
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly o: HubOptions) {
    // One sweep for all sockets instead of a timer each: cheap at tens of thousands of agents.
    this.heartbeat = setInterval(() => this.sweep(), o.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Serves the agent endpoint on an existing HTTP server (the API shares the port). */
  attach(server: Server, path = AGENT_PATH): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = req.url ?? '';
      if (url !== path && !url.startsWith(`${path}?`)) return; // someone else's upgrade
      this.handleUpgrade(req, socket, head).catch((err: unknown) => {
        this.o.log.error('upgrade failed', { err });
        reject(socket, 500, 'Internal Server Error');
      });
    });
  }

  isConnected(gatewayId: GatewayId): boolean {
    return this.conns.get(gatewayId)?.ready === true;
  }

  get connectedCount(): number {
    return this.conns.size;
  }

  connectedGateways(): GatewayId[] {
    return [...this.conns.values()].filter((c) => c.ready).map((c) => c.gatewayId);
  }

  /** Sends one request to a gateway held by this instance and waits for its result. */
  call<M extends Method>(gatewayId: GatewayId, method: M, params: Params<M>, opts: { timeoutMs?: number } = {}): Promise<Result<M>> {
    if (this.closing) return Promise.reject(new HubError('shutting_down', 'hub is shutting down'));
    const conn = this.conns.get(gatewayId);
    if (!conn?.ready) return Promise.reject(new HubError('not_connected', `gateway ${gatewayId} is not connected to controller ${this.o.instanceId}`));
    const checked = Methods[method].params.parse(params);
    const id = randomUUID();
    const frame: HubFrame = { type: 'request', id, method, params: checked };
    return new Promise<Result<M>>((resolve, rejectP) => {
      const timeoutMs = opts.timeoutMs ?? this.o.rpcTimeoutMs;
      const timer = setTimeout(() => this.settle(id, new HubError('timeout', `${method} to gateway ${gatewayId} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, { conn, method, resolve: resolve as (v: unknown) => void, reject: rejectP, timer });
      conn.pending.add(id);
      conn.ws.send(JSON.stringify(frame), (err) => {
        if (err) this.settle(id, new HubError('disconnected', `send to gateway ${gatewayId} failed: ${err.message}`));
      });
    });
  }

  /** Closes every agent socket (agents reconnect elsewhere) and fails pending requests. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    const conns = [...this.conns.values()];
    for (const c of conns) c.ws.close(CloseCode.goingAway, 'controller shutting down');
    await Promise.allSettled(conns.map((c) => this.dropConn(c, 'controller shutting down')));
    this.wss.close();
  }

  // ---- connection lifecycle ----------------------------------------------------------------

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing) return reject(socket, 503, 'Service Unavailable');
    const auth = parseAuthHeader(req.headers.authorization);
    if (!auth) return reject(socket, 401, 'Unauthorized');
    const gatewayId = asGatewayId(auth.gatewayId);
    const hash = await this.o.store.secretHash(gatewayId);
    // Unknown gateway and wrong secret look the same from outside.
    if (!hash || !secretMatches(auth.secret, hash)) {
      this.o.log.warn('agent rejected', { gatewayId, reason: hash ? 'wrong secret' : 'unknown gateway', from: req.socket.remoteAddress });
      return reject(socket, 401, 'Unauthorized');
    }
    const observedIp = normaliseIp(req.socket.remoteAddress);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, gatewayId, observedIp));
  }

  private onConnection(ws: WebSocket, gatewayId: GatewayId, observedIp: string | undefined): void {
    const conn: Conn = { gatewayId, ws, observedIp, ready: false, alive: true, pending: new Set() };
    const old = this.conns.get(gatewayId);
    this.conns.set(gatewayId, conn);
    if (old) {
      old.ws.close(CloseCode.replaced, 'replaced by a newer connection');
      void this.dropConn(old, 'replaced by a newer connection');
    }
    conn.helloTimer = setTimeout(() => ws.close(CloseCode.helloTimeout, 'no hello'), this.o.helloTimeoutMs);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    // ws emits 'error' for oversized frames and bad UTF-8 and closes with the right code (1009/1007).
    ws.on('error', (err) => this.o.log.warn('agent socket error', { gatewayId, err: err.message }));
    ws.on('close', () => void this.dropConn(conn, 'socket closed'));
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    let frame: AgentFrame;
    try {
      if (isBinary) throw new ProtocolError('binary frames are not part of the protocol');
      frame = parseFrame(AgentFrame, frameText(data));
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.message : 'unreadable frame';
      this.o.log.warn('malformed frame from agent', { gatewayId: conn.gatewayId, reason });
      conn.ws.close(CloseCode.malformed, closeReason(reason));
      return;
    }
    switch (frame.type) {
      case 'hello':
        void this.onHello(conn, frame.protocol, frame.facts);
        return;
      case 'facts':
        if (conn.ready) {
          void this.record(conn, frame.facts);
          this.o.onFacts?.(conn.gatewayId, frame.facts);
        }
        return;
      case 'response':
        this.onResponse(conn, frame);
        return;
      case 'tunnel':
        if (conn.ready) this.o.onTunnel?.(conn.gatewayId, { name: frame.name, up: frame.up, reason: frame.reason, at: frame.at });
        return;
    }
  }

  private async onHello(conn: Conn, protocol: number, facts: Facts): Promise<void> {
    if (conn.ready) return; // a second hello is harmless; facts frames carry updates
    if (protocol !== PROTOCOL_VERSION) {
      conn.ws.close(CloseCode.malformed, closeReason(`protocol ${protocol} not supported (hub speaks ${PROTOCOL_VERSION})`));
      return;
    }
    clearTimeout(conn.helloTimer);
    try {
      await this.record(conn, facts);
    } catch (err) {
      this.o.log.error('could not record presence', { gatewayId: conn.gatewayId, err });
      conn.ws.close(CloseCode.goingAway, 'controller storage unavailable');
      return;
    }
    if (this.conns.get(conn.gatewayId) !== conn || conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ready = true;
    const welcome: HubFrame = { type: 'welcome', protocol: PROTOCOL_VERSION, gatewayId: conn.gatewayId, heartbeatMs: this.o.heartbeatMs };
    conn.ws.send(JSON.stringify(welcome));
    this.o.onOnline?.(conn.gatewayId, { observedIp: conn.observedIp, facts });
  }

  private record(conn: Conn, facts: Facts): Promise<void> {
    return this.o.store.markOnline(conn.gatewayId, { observedIp: conn.observedIp, facts, instance: this.o.instanceId, at: new Date() });
  }

  private onResponse(conn: Conn, frame: Extract<AgentFrame, { type: 'response' }>): void {
    const p = this.pending.get(frame.id);
    // A response is accepted only from the connection the request was sent on.
    if (!p || p.conn !== conn) {
      this.o.log.warn('response for unknown request', { gatewayId: conn.gatewayId, id: frame.id });
      return;
    }
    if (!frame.ok) {
      this.settle(frame.id, new HubError('agent_error', frame.error.message, frame.error.code));
      return;
    }
    const r = Methods[p.method].result.safeParse(frame.result);
    if (!r.success) this.settle(frame.id, new HubError('bad_response', `agent's ${p.method} result does not match the protocol`));
    else this.settle(frame.id, undefined, r.data);
  }

  private settle(id: string, err?: Error, value?: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.conn.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private async dropConn(conn: Conn, why: string): Promise<void> {
    clearTimeout(conn.helloTimer);
    for (const id of [...conn.pending]) this.settle(id, new HubError('disconnected', `gateway ${conn.gatewayId} disconnected: ${why}`));
    if (this.conns.get(conn.gatewayId) !== conn) return; // replaced: the newer socket owns presence
    this.conns.delete(conn.gatewayId);
    if (!conn.ready) return;
    try {
      await this.o.store.markOffline(conn.gatewayId, this.o.instanceId, new Date());
    } catch (err) {
      this.o.log.warn('could not record disconnect', { gatewayId: conn.gatewayId, err });
    }
    this.o.onOffline?.(conn.gatewayId);
  }

  private sweep(): void {
    const seen: GatewayId[] = [];
    for (const c of this.conns.values()) {
      if (!c.alive) {
        c.ws.terminate(); // 'close' follows and drops the connection
        continue;
      }
      c.alive = false;
      c.ws.ping();
      if (c.ready) seen.push(c.gatewayId);
    }
    if (seen.length) this.o.store.touch(seen, this.o.instanceId, new Date()).catch((err: unknown) => this.o.log.warn('could not refresh last-seen', { err }));
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
}

function normaliseIp(ip: string | undefined): string | undefined {
  return ip?.startsWith('::ffff:') ? ip.slice(7) : ip;
}
