// The controller's WebSocket endpoint for agents: authentication before the upgrade, hello,
// heartbeats, presence, and request/response RPC whose ids and timeouts the hub owns.
// Bookkeeping follows NetBird's job manager: pending requests by id, a reconnect replaces the old
// socket, a disconnect fails that gateway's pending requests at once, and a response is accepted
// only from the connection the request went to. The listener is reachable by anyone, so what a peer
// can cost is bounded before it authenticates (preauth.ts, lib/auth-limiter.ts) and what an agent can
// cause downstream by repeating itself is throttled after (noise.ts).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import {
  AGENT_PATH,
  AgentFrame,
  CloseCode,
  ENROL_PATH,
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
  type ProbeTarget,
  type Params,
  type Result,
} from '../protocol/messages';
import { asGatewayId, type GatewayId } from '../protocol/ids';
import { hashSecret, secretMatches } from '../lib/crypto';
import { normaliseIp, limitKey } from '../lib/net';
import { AuthFailureLimiter, retryAfterSeconds } from '../lib/auth-limiter';
import { serveEnrolment } from './enrol';
import { HubError } from './errors';
import type { RpcOutcome } from '../lib/metrics';
import { LogSampler } from './log-sampler';
import { hubLimits, type HubLimits, type HubOptions } from './options';
import { AgentNoise, connNoise, type ConnNoise } from './noise';
import { PreauthGuard, peerKey } from './preauth';
import { GatewayGoneError } from './presence';
import { errorBody, refuseUpgrade, sendJson } from './replies';

export type { HubOptions, TunnelReport } from './options';

/**
 * Listen backlog for the HTTP server the hub is attached to (the kernel caps it at
 * net.core.somaxconn, 4096 by default on current Linux). After a controller restart every agent
 * dials at once; Node's default of 511 overflows at once and every dropped SYN costs its agent a
 * retransmission wait of 1, 3, 7, 15 s. Measured by bench:hub with 18,000 agents on 2 cores: about
 * 50 s until all are online with 511, about 15 s with 4096.
 */
export const AGENT_LISTEN_BACKLOG = 4096;

/** Compared against when the gateway is unknown, so an unknown gateway costs what a wrong secret does. */
const UNKNOWN_GATEWAY_HASH = hashSecret('no such gateway');
/** How long a stopping hub waits for agents to answer its close frames before cutting them off. */
const CLOSE_GRACE_MS = 1000;
/** What the log says for each refusal the metrics count. */
const REFUSAL_TEXT = { malformed: 'malformed credentials', wrong_secret: 'wrong secret', unknown_gateway: 'unknown gateway' } as const;
/** How long recheck() remembers a change, for authentications whose lookup was in flight then. */
const RECHECK_MEMORY_MS = 10_000;

interface Conn {
  readonly gatewayId: GatewayId;
  readonly ws: WebSocket;
  /** The stored hash the agent's secret matched: a different one later means the secret was rotated. */
  readonly secretHash: string;
  readonly observedIp: string | undefined;
  /** Its entry in the pre-authentication account, released at its hello. */
  readonly peer: string | undefined;
  readonly noise: ConnNoise;
  /** A hello arrived (the first one counts; later ones are ignored). */
  helloSeen: boolean;
  /** Its online state is durable in the store, so leaving must be written too. */
  recorded: boolean;
  /** Welcomed: requests may be sent and callbacks fire. */
  ready: boolean;
  alive: boolean;
  /** When the last heartbeat ping went out (performance.now()); 0 before the first. */
  pingedAt: number;
  /** The hub cut it for missing heartbeats (its close code is then just 1006). */
  heartbeatCut?: boolean;
  readonly pending: Set<string>;
  helloTimer?: NodeJS.Timeout;
}

interface Pending {
  readonly conn: Conn;
  readonly method: Method;
  /** performance.now() when the request went out, for the latency histogram. */
  readonly sentAt: number;
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
  /** The connection of each gateway that has said hello; only these receive requests. */
  private readonly conns = new Map<GatewayId, Conn>();
  /** Upgraded sockets that have not said hello yet. */
  private readonly greeting = new Set<Conn>();
  private readonly pending = new Map<string, Pending>();
  private readonly heartbeat: NodeJS.Timeout;
  /** The heartbeat round in progress: a snapshot of the connections, walked a slice per tick. */
  private round: Conn[] = [];
  private roundPos = 0;
  private roundSeen: GatewayId[] = [];
  private readonly ticksPerRound: number;
  private roundTick: number;
  private closing = false;
  private readonly limits: HubLimits;
  private readonly preauth: PreauthGuard;
  private readonly authFailures: AuthFailureLimiter;
  /** Log lines peers can cause without authenticating (and agents by repeating themselves). */
  private readonly sampler: LogSampler;
  private readonly noise: AgentNoise<Conn>;
  /** When each gateway's row last changed as far as recheck() heard (pruned after RECHECK_MEMORY_MS). */
  private readonly changedAt = new Map<GatewayId, number>();

  constructor(private readonly options: HubOptions) {
    this.limits = hubLimits(options);
    const l = this.limits;
    this.sampler = new LogSampler({ log: options.log, windowMs: l.logSampleMs });
    this.preauth = new PreauthGuard({
      perSource: l.preauthPerIp,
      max: l.preauthMax,
      timeoutMs: l.preauthTimeoutMs,
      onRefused: (source, limit) => {
        options.metrics?.preauthRefused[limit].inc();
        this.sampler.warn(source, 'agent listener: connection refused, too many unauthenticated connections', { from: source, limit });
      },
    });
    this.authFailures = new AuthFailureLimiter({ failures: l.authFailures, windowMs: l.authFailureWindowMs });
    this.noise = new AgentNoise<Conn>({
      limits: l,
      callbacks: options,
      isCurrent: (conn) => this.conns.get(conn.gatewayId) === conn && conn.ready,
      record: (conn, facts) => this.record(conn, facts),
      log: options.log,
      sampler: this.sampler,
    });
    // One timer for all sockets instead of one each, and each heartbeat period's pings spread over
    // ticks of at most 20 ms: pinging 18,000 sockets at once blocks the event loop for most of a
    // second (a syscall each), which every RPC in flight would wait out.
    const tickMs = Math.max(1, Math.min(20, Math.floor(options.heartbeatMs / 10)));
    this.ticksPerRound = Math.max(1, Math.floor(options.heartbeatMs / tickMs));
    this.roundTick = this.ticksPerRound;
    this.heartbeat = setInterval(() => this.sweep(), tickMs);
    this.heartbeat.unref();
    options.metrics?.watchConnected(() => this.conns.size);
  }

  /**
   * Serves the agent endpoint on the agents' own HTTP server: upgrades to `path` are agents, any
   * other upgrade is answered 400 and closed (nothing else on this listener speaks WebSocket), and
   * every connection is accounted until its agent has authenticated and said hello.
   */
  attach(server: Server, path = AGENT_PATH): void {
    this.preauth.watch(server);
    // Node checks these only every 30 s; the pre-authentication deadline is the exact bound.
    server.headersTimeout = Math.min(server.headersTimeout || Infinity, this.limits.preauthTimeoutMs);
    server.requestTimeout = Math.min(server.requestTimeout || Infinity, this.limits.preauthTimeoutMs);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node leaves an upgraded socket without an error listener, and a reset must not crash us;
      // once ws owns the socket, its own listener takes over (see handleUpgrade).
      const onError = () => socket.destroy();
      socket.on('error', onError);
      const url = req.url ?? '';
      if (url !== path && !url.startsWith(`${path}?`)) return refuseUpgrade(socket, 400, 'Bad Request');
      this.handleUpgrade(req, socket, head, onError).catch((err: unknown) => {
        this.options.log.error('upgrade failed', { err });
        refuseUpgrade(socket, 500, 'Internal Server Error');
      });
    });
  }

  /** Plain HTTP requests on the agents' listener: enrolment; the WebSocket upgrade is attach()'s. */
  handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== ENROL_PATH) return sendJson(res, 404, errorBody('not_found', `agents connect with a WebSocket upgrade to ${AGENT_PATH} and enrol with POST ${ENROL_PATH}`));
    if (req.method !== 'POST') return sendJson(res, 405, errorBody('method_not_allowed', `${ENROL_PATH} takes POST`), { allow: 'POST' });
    if (this.closing) return sendJson(res, 503, errorBody('shutting_down', 'controller shutting down'));
    serveEnrolment(req, res, { store: this.options.store, limiter: this.authFailures, sampler: this.sampler, log: this.options.log, ...(this.options.metrics ? { metrics: this.options.metrics } : {}) }).catch((err: unknown) => {
      this.options.log.error('enrolment failed', { err });
      sendJson(res, 500, errorBody('internal', 'enrolment failed'));
    });
  }

  isConnected(gatewayId: GatewayId): boolean {
    return this.conns.get(gatewayId)?.ready === true;
  }

  /** Gateways whose agent has said hello on this instance (welcomed, or being recorded). */
  get connectedCount(): number {
    return this.conns.size;
  }

  connectedGateways(): GatewayId[] {
    return [...this.conns.values()].filter((c) => c.ready).map((c) => c.gatewayId);
  }

  /**
   * Some gateways' rows changed (the controller's change feed says so, whichever process made the
   * change): an agent held here whose gateway is gone is closed with CloseCode.revoked, one whose
   * secret is no longer the one it authenticated with with CloseCode.secretRotated. Its next
   * upgrade is refused like any wrong secret.
   */
  async recheck(gatewayIds: readonly GatewayId[]): Promise<void> {
    const now = performance.now();
    for (const [id, at] of this.changedAt) if (now - at > RECHECK_MEMORY_MS) this.changedAt.delete(id);
    const held = new Map<GatewayId, Conn[]>();
    for (const id of gatewayIds) {
      this.changedAt.set(id, now);
      const conn = this.conns.get(id);
      if (conn) held.set(id, [conn]);
    }
    for (const conn of this.greeting) if (this.changedAt.get(conn.gatewayId) === now) held.set(conn.gatewayId, [...(held.get(conn.gatewayId) ?? []), conn]);
    const ids = [...held.keys()];
    const { store } = this.options;
    const hashes = store.secretHashes ? await store.secretHashes(ids) : await Promise.all(ids.map((id) => store.secretHash(id)));
    for (const [i, id] of ids.entries()) for (const conn of held.get(id)!) this.revokeIfStale(conn, hashes[i]);
  }

  private revokeIfStale(conn: Conn, hash: string | undefined): void {
    if (conn.ws.readyState !== conn.ws.OPEN || hash === conn.secretHash) return;
    if (hash === undefined) {
      this.options.log.info('gateway deleted; closing its agent', { gatewayId: conn.gatewayId });
      conn.ws.close(CloseCode.revoked, 'gateway deleted on the controller');
    } else {
      this.options.log.info('agent secret rotated; closing the connection that used the old one', { gatewayId: conn.gatewayId });
      conn.ws.close(CloseCode.secretRotated, 'agent secret rotated: start the agent with the new secret');
    }
  }

  /** Sends one request to a gateway held by this instance and waits for its result. */
  call<M extends Method>(gatewayId: GatewayId, method: M, params: Params<M>, opts: { timeoutMs?: number } = {}): Promise<Result<M>> {
    if (this.closing) return Promise.reject(new HubError('shutting_down', 'hub is shutting down'));
    const conn = this.conns.get(gatewayId);
    if (!conn?.ready) return Promise.reject(new HubError('not_connected', `gateway ${gatewayId} is not connected to controller ${this.options.instanceId}`));
    const checked = Methods[method].params.parse(params);
    const id = randomUUID();
    const frame: HubFrame = { type: 'request', id, method, params: checked };
    return new Promise<Result<M>>((resolve, rejectP) => {
      const timeoutMs = opts.timeoutMs ?? this.options.rpcTimeoutMs;
      const timer = setTimeout(() => this.settle(id, new HubError('timeout', `${method} to gateway ${gatewayId} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, { conn, method, sentAt: performance.now(), resolve: resolve as (v: unknown) => void, reject: rejectP, timer });
      conn.pending.add(id);
      conn.ws.send(JSON.stringify(frame), (err) => {
        if (err) this.settle(id, new HubError('disconnected', `send to gateway ${gatewayId} failed: ${err.message}`));
      });
    });
  }

  /** Sends probe targets to a gateway held by this instance (no answer expected); false when it is not connected here. */
  sendProbeTargets(gatewayId: GatewayId, targets: ProbeTarget[]): boolean {
    const conn = this.conns.get(gatewayId);
    if (!conn?.ready || this.closing) return false;
    const frame: HubFrame = { type: 'probeTargets', targets };
    conn.ws.send(JSON.stringify(frame), () => undefined);
    return true;
  }

  /**
   * Closes every agent socket (agents reconnect elsewhere), cuts connections that never got as far
   * as a hello, and fails pending requests. Agents that do not answer the close frame within
   * CLOSE_GRACE_MS are cut off too, so the listener can finish closing.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.preauth.closeAll();
    this.noise.close();
    this.sampler.close();
    const conns = [...this.conns.values(), ...this.greeting];
    for (const c of conns) c.ws.close(CloseCode.goingAway, 'controller shutting down');
    setTimeout(() => conns.forEach((c) => c.ws.terminate()), CLOSE_GRACE_MS).unref();
    await Promise.allSettled(conns.map((c) => this.dropConn(c, 'controller shutting down')));
    this.wss.close();
  }

  // ---- connection lifecycle ----------------------------------------------------------------

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, onError: () => void): Promise<void> {
    if (this.closing) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const source = limitKey(req.socket.remoteAddress);
    // A source that failed too often is refused before its credentials cost a database lookup.
    const waitMs = await this.authFailures.blockedFor(source);
    if (waitMs > 0) {
      this.options.metrics?.authFailures.blocked.inc();
      this.sampler.warn(source, 'agent refused: too many failed authentications', { from: source });
      return refuseUpgrade(socket, 429, 'Too Many Requests', { 'Retry-After': retryAfterSeconds(waitMs) });
    }
    const auth = parseAuthHeader(req.headers.authorization);
    if (!auth) return this.refuseCredentials(socket, source, 'malformed');
    const gatewayId = asGatewayId(auth.gatewayId);
    const lookedUpAt = performance.now();
    let hash = await this.options.store.secretHash(gatewayId);
    // The row changed while the lookup was in flight (rotated, deleted): what it read may be stale.
    if ((this.changedAt.get(gatewayId) ?? -1) >= lookedUpAt) hash = await this.options.store.secretHash(gatewayId);
    // In a storm the agent may have given up on this attempt while the lookup waited; finishing
    // the handshake for it would only cost memory and a write for a socket nobody reads.
    if (socket.destroyed) return;
    // Unknown gateway and wrong secret look the same from outside, in answer and in cost.
    const matches = secretMatches(auth.secret, hash ?? UNKNOWN_GATEWAY_HASH);
    if (!hash || !matches) return this.refuseCredentials(socket, source, hash ? 'wrong_secret' : 'unknown_gateway', gatewayId);
    const observedIp = normaliseIp(req.socket.remoteAddress);
    const peer = peerKey(req.socket);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onError);
      this.onConnection(ws, gatewayId, hash, observedIp, peer);
    });
  }

  /** 401, counted against the source; logged once per source and window (the secret never is). */
  private refuseCredentials(socket: Duplex, source: string, reason: 'malformed' | 'wrong_secret' | 'unknown_gateway', gatewayId?: GatewayId): void {
    this.authFailures.failed(source);
    this.options.metrics?.authFailures[reason].inc();
    this.sampler.warn(source, 'agent rejected', { from: source, reason: REFUSAL_TEXT[reason], ...(gatewayId ? { gatewayId } : {}) });
    refuseUpgrade(socket, 401, 'Unauthorized');
  }

  private onConnection(ws: WebSocket, gatewayId: GatewayId, secretHash: string, observedIp: string | undefined, peer: string | undefined): void {
    const conn: Conn = {
      gatewayId,
      ws,
      secretHash,
      observedIp,
      peer,
      noise: connNoise(),
      helloSeen: false,
      recorded: false,
      ready: false,
      alive: true,
      pingedAt: 0,
      pending: new Set(),
    };
    // It replaces the gateway's current connection at its hello, not here (see onHello).
    this.greeting.add(conn);
    conn.helloTimer = setTimeout(() => ws.close(CloseCode.helloTimeout, 'no hello'), this.options.helloTimeoutMs);
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    // ws emits 'error' for oversized frames and bad UTF-8 and closes with the right code (1009/1007).
    ws.on('error', (err) => this.sampler.warn(gatewayId, 'agent socket error', { gatewayId, err: err.message }));
    ws.on('close', (code: number) => {
      this.options.metrics?.disconnected(code, conn.heartbeatCut === true);
      void this.dropConn(conn, 'socket closed');
    });
  }

  private onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    let frame: AgentFrame;
    try {
      if (isBinary) throw new ProtocolError('binary frames are not part of the protocol');
      frame = parseFrame(AgentFrame, frameText(data));
      if (!conn.helloSeen && frame.type !== 'hello') throw new ProtocolError(`expected hello first, got ${frame.type}`);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.message : 'unreadable frame';
      // Sampled per gateway: an agent that reconnects and repeats itself gets a line per window.
      this.sampler.warn(conn.gatewayId, 'malformed frame from agent', { gatewayId: conn.gatewayId, reason });
      conn.ws.close(CloseCode.malformed, closeReason(reason));
      return;
    }
    switch (frame.type) {
      case 'hello':
        void this.onHello(conn, frame.protocol, frame.facts);
        return;
      case 'facts':
        if (conn.ready) this.noise.facts(conn, frame.facts);
        return;
      case 'response':
        this.onResponse(conn, frame);
        return;
      case 'health':
        if (conn.ready) this.options.onHealth?.(conn.gatewayId, frame);
        return;
      case 'tunnel':
        if (conn.ready) this.noise.tunnel(conn, { name: frame.name, up: frame.up, ...(frame.reason !== undefined ? { reason: frame.reason } : {}), at: frame.at });
        return;
    }
  }

  private async onHello(conn: Conn, protocol: number, facts: Facts): Promise<void> {
    if (conn.helloSeen) return; // a second hello is harmless; facts frames carry updates
    conn.helloSeen = true;
    if (!this.greeting.delete(conn)) return; // closed meanwhile
    if (protocol !== PROTOCOL_VERSION) {
      conn.ws.close(CloseCode.malformed, closeReason(`protocol ${protocol} not supported (hub speaks ${PROTOCOL_VERSION})`));
      return;
    }
    clearTimeout(conn.helloTimer);
    // Authenticated and greeted: no longer pre-authentication. Not only at the welcome, which
    // waits for the presence write: in a storm that write can lag, and a deadline hit then would
    // turn a slow database into disconnects and retries.
    this.preauth.authenticated(conn.peer);
    // A newer connection takes over only once it has said hello. In a reconnect storm an agent can
    // give up on an attempt (handshake timeout) whose upgrade the hub still completes later; that
    // socket never says hello, and must not displace the connection the agent actually uses.
    const old = this.conns.get(conn.gatewayId);
    this.conns.set(conn.gatewayId, conn);
    if (old) {
      old.ws.close(CloseCode.replaced, 'replaced by a newer connection');
      void this.dropConn(old, 'replaced by a newer connection');
    }
    try {
      await this.record(conn, facts);
    } catch (err) {
      if (err instanceof GatewayGoneError) {
        conn.ws.close(CloseCode.revoked, 'gateway deleted');
        return;
      }
      this.options.log.error('could not record presence', { gatewayId: conn.gatewayId, err });
      conn.ws.close(CloseCode.goingAway, 'controller storage unavailable');
      return;
    }
    conn.recorded = true;
    if (this.conns.get(conn.gatewayId) !== conn) {
      // It closed while the write was queued, and dropConn found nothing to undo then. Undo it now,
      // unless a newer socket of the gateway holds it (its own write follows ours in order).
      if (!this.conns.has(conn.gatewayId)) void this.writeOffline(conn);
      return;
    }
    if (conn.ws.readyState !== conn.ws.OPEN) return; // closing: dropConn follows and writes it off
    conn.ready = true;
    this.options.metrics?.hellos.inc();
    const welcome: HubFrame = { type: 'welcome', protocol: PROTOCOL_VERSION, gatewayId: conn.gatewayId, heartbeatMs: this.options.heartbeatMs };
    conn.ws.send(JSON.stringify(welcome));
    // onOnline reconciles the agent and signals its link workflows: a gateway that reconnects in
    // a loop gets a few calls at once, then its latest connection announced once per refill.
    this.noise.welcomed(conn, facts);
  }

  private record(conn: Conn, facts: Facts): Promise<void> {
    return this.options.store.markOnline(conn.gatewayId, { observedIp: conn.observedIp, facts, instance: this.options.instanceId, at: new Date() });
  }

  private onResponse(conn: Conn, frame: Extract<AgentFrame, { type: 'response' }>): void {
    const p = this.pending.get(frame.id);
    // A response is accepted only from the connection the request was sent on.
    if (!p || p.conn !== conn) {
      this.sampler.warn(conn.gatewayId, 'response for unknown request', { gatewayId: conn.gatewayId, id: frame.id });
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
    this.options.metrics?.rpc[p.method][err ? rpcOutcome(err) : 'ok'].observe((performance.now() - p.sentAt) / 1000);
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private async dropConn(conn: Conn, why: string): Promise<void> {
    clearTimeout(conn.helloTimer);
    this.greeting.delete(conn);
    for (const id of [...conn.pending]) this.settle(id, new HubError('disconnected', `gateway ${conn.gatewayId} disconnected: ${why}`));
    if (this.conns.get(conn.gatewayId) !== conn) return; // replaced: the newer socket owns presence
    this.conns.delete(conn.gatewayId);
    if (!conn.recorded) return;
    await this.writeOffline(conn);
    if (conn.ready) this.options.onOffline?.(conn.gatewayId);
  }

  private async writeOffline(conn: Conn): Promise<void> {
    try {
      await this.options.store.markOffline(conn.gatewayId, this.options.instanceId, new Date());
    } catch (err) {
      this.options.log.warn('could not record disconnect', { gatewayId: conn.gatewayId, err });
    }
  }

  /** One tick of the heartbeat round: every connection is visited once per heartbeat period. */
  private sweep(): void {
    if (this.roundTick >= this.ticksPerRound) {
      this.roundTick = 0;
      if (this.roundSeen.length) this.options.store.touch(this.roundSeen, this.options.instanceId, new Date()).catch((err: unknown) => this.options.log.warn('could not refresh last-seen', { err }));
      this.round = [...this.conns.values()];
      this.roundPos = 0;
      this.roundSeen = [];
    }
    this.roundTick++;
    const now = performance.now();
    const end = Math.min(this.round.length, this.roundPos + Math.ceil(this.round.length / this.ticksPerRound));
    for (; this.roundPos < end; this.roundPos++) {
      const c = this.round[this.roundPos]!;
      if (this.conns.get(c.gatewayId) !== c) continue; // closed or replaced since the snapshot
      // A connection can come round early when others ahead of it left; give its pong time to arrive.
      if (now - c.pingedAt < this.options.heartbeatMs / 2) continue;
      if (!c.alive) {
        c.heartbeatCut = true;
        c.ws.terminate(); // 'close' follows and drops the connection
        continue;
      }
      c.alive = false;
      c.pingedAt = now;
      c.ws.ping();
      if (c.ready) this.roundSeen.push(c.gatewayId);
    }
    if (this.roundPos >= this.round.length) this.round = []; // do not hold closed sockets until the next round
  }
}

/** A failed request's outcome label; the hub only settles requests it sent, so never not_connected. */
function rpcOutcome(err: Error): RpcOutcome {
  return err instanceof HubError && err.code !== 'not_connected' ? err.code : 'disconnected';
}
