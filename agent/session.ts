// The agent's one connection loop to the controller: dial out, hello, serve requests, report,
// and reconnect with backoff and jitter. A 401 is final: the secret will not get better by retrying.
import WebSocket from 'ws';
import {
  AGENT_PATH,
  HubFrame,
  MAX_FRAME_BYTES,
  Methods,
  PROTOCOL_VERSION,
  ProtocolError,
  authHeader,
  closeReason,
  frameText,
  parseFrame,
  type AgentFrame,
  type Facts,
  type Method,
} from '../protocol/messages';
import type { Logger } from '../lib/log';
import { Backoff } from './backoff';
import { agentEndpoint, proxyAgentFor, type ProxyEnv } from './proxy';

export type RequestHandler = (method: Method, params: unknown) => Promise<unknown>;

export class AuthRejectedError extends Error {
  override name = 'AuthRejectedError';
}

export interface SessionOptions {
  controllerUrls: string[];
  gatewayId: string;
  secret: string;
  proxy: ProxyEnv;
  backoff: { minMs: number; maxMs: number };
  log: Logger;
  facts: () => Promise<Facts>;
  handle: RequestHandler;
  /** Called after each welcome (e.g. to flush tunnel state the controller missed). */
  onConnected?: () => void;
}

export class ControllerSession {
  private ws?: WebSocket;
  private stopped = false;
  private connected = false;
  private urlIndex: number;
  private readonly backoff: Backoff;
  private heartbeatMs = 15_000;
  private lastFromHub = 0;
  private watchdog?: NodeJS.Timeout;
  private sleepTimer?: { timer: NodeJS.Timeout; wake: () => void };
  /** Dial again at once (same controller, no backoff): set when the agent's address changed. */
  private redialNow = false;

  constructor(private readonly o: SessionOptions) {
    this.backoff = new Backoff(o.backoff.minMs, o.backoff.maxMs);
    // Spread agents over the controllers from the first dial on.
    this.urlIndex = Math.floor(Math.random() * o.controllerUrls.length);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Runs until stop(); rejects only with AuthRejectedError. */
  async run(): Promise<void> {
    while (!this.stopped) {
      this.redialNow = false; // a redial asked for while sleeping is this dial
      const url = this.o.controllerUrls[this.urlIndex % this.o.controllerUrls.length]!;
      try {
        await this.connectOnce(url);
      } catch (err) {
        if (err instanceof AuthRejectedError) throw err;
        this.o.log.warn('controller connection failed', { url, err: (err as Error).message });
      }
      if (this.stopped) break;
      if (this.redialNow) {
        this.redialNow = false;
        continue;
      }
      this.urlIndex++; // try the next controller next time
      const delay = this.backoff.next();
      this.o.log.info('reconnecting', { inMs: delay, attempt: this.backoff.attempts });
      await this.sleep(delay);
    }
  }

  /** Sends a frame if connected; returns false when it could not be sent. */
  send(frame: AgentFrame): boolean {
    if (!this.connected || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Drops the connection and dials again at once: after the agent's address changed, the old
   * socket may lead nowhere (a NAT mapping is gone), and a new hello carries the new facts while
   * the hub sees the new source address.
   */
  redial(why: string): void {
    if (this.stopped) return;
    this.o.log.info('redialling the controller', { why });
    this.redialNow = true;
    this.backoff.reset();
    this.sleepTimer?.wake();
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleepTimer?.wake();
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'agent stopping');
        setTimeout(() => { ws.terminate(); resolve(); }, 2000).unref();
      });
    }
  }

  /** One connection's life; resolves when it closes. */
  private connectOnce(base: string): Promise<void> {
    const url = agentEndpoint(base, AGENT_PATH);
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { authorization: authHeader(this.o.gatewayId, this.o.secret) },
        agent: proxyAgentFor(url, this.o.proxy),
        maxPayload: MAX_FRAME_BYTES,
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
      });
      this.ws = ws;
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        if (res.statusCode === 401) reject(new AuthRejectedError(`controller ${url.host} rejected gateway ${this.o.gatewayId}'s credentials (401): check GATEWAY_ID and GATEWAY_SECRET; not retrying`));
        else reject(new Error(`controller answered HTTP ${res.statusCode} to the upgrade`));
      });
      ws.on('open', () => {
        this.lastFromHub = Date.now();
        this.armWatchdog(ws);
        this.o
          .facts()
          .then((facts) => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts } satisfies AgentFrame)))
          .catch((err: unknown) => ws.close(1011, closeReason(`could not gather facts: ${(err as Error).message}`)));
      });
      ws.on('ping', () => (this.lastFromHub = Date.now()));
      ws.on('message', (data, isBinary) => {
        this.lastFromHub = Date.now();
        this.onMessage(ws, isBinary ? '' : frameText(data));
      });
      ws.on('error', (err) => this.o.log.debug('socket error', { err: err.message }));
      ws.on('close', (code, reason) => {
        const wasConnected = this.connected;
        this.connected = false;
        clearInterval(this.watchdog);
        if (wasConnected) this.o.log.warn('disconnected from controller', { code, reason: reason.toString() });
        resolve();
      });
    });
  }

  private onMessage(ws: WebSocket, raw: string): void {
    let frame: HubFrame;
    try {
      frame = parseFrame(HubFrame, raw);
    } catch (err) {
      this.o.log.warn('malformed frame from controller', { reason: err instanceof ProtocolError ? err.message : String(err) });
      ws.close(1007, 'malformed frame');
      return;
    }
    if (frame.type === 'welcome') {
      this.connected = true;
      this.heartbeatMs = frame.heartbeatMs;
      this.backoff.reset();
      this.o.log.info('connected to controller', { url: ws.url });
      this.o.onConnected?.();
      return;
    }
    void this.serve(ws, frame.id, frame.method, frame.params);
  }

  /** Every request gets a response, failures included. */
  private async serve(ws: WebSocket, id: string, method: Method, params: unknown): Promise<void> {
    let reply: AgentFrame;
    try {
      const parsed = Methods[method].params.safeParse(params);
      if (!parsed.success) throw Object.assign(new Error(`invalid params for ${method}`), { code: 'invalid_params' });
      reply = { type: 'response', id, ok: true, result: await this.o.handle(method, parsed.data) };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      reply = { type: 'response', id, ok: false, error: { code: typeof e.code === 'string' ? e.code : 'failed', message: e.message } };
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(reply));
  }

  /** A silent controller (no ping, no frame for 2.5 heartbeats) is treated as gone. */
  private armWatchdog(ws: WebSocket): void {
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastFromHub > this.heartbeatMs * 2.5) {
        this.o.log.warn('controller silent; reconnecting', { silentMs: Date.now() - this.lastFromHub });
        ws.terminate();
      }
    }, Math.max(500, Math.floor(this.heartbeatMs / 2)));
    this.watchdog.unref();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.sleepTimer = { timer, wake: () => { clearTimeout(timer); resolve(); } };
    });
  }
}
