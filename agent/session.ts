// The agent's one connection loop to the controller: enrol if it must, dial out, hello, serve
// requests, report, and reconnect with backoff and jitter (longer when the controller says when,
// with 429/503 and Retry-After). A 401 is final: credentials do not get better by retrying, unless
// the controller said why it closed the connection (gateway deleted, secret rotated): then the agent
// keeps its tunnels and waits for the operator at the longest backoff.
import WebSocket, { type ClientOptions } from 'ws';
import {
  AGENT_PATH,
  CloseCode,
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
  type ProbeTarget,
} from '../protocol/messages';
import type { Logger } from '../lib/log';
import { Backoff } from './backoff';
import { Credentials } from './credentials';
import { agentEndpoint } from './endpoints';
import { AuthRejectedError } from './errors';
import { proxyFor, type ProxyEnv } from './proxy';
import { RetryLaterError, retryDelay, retryLaterFor } from './retry';
import { isCertificateError, type ControllerTrust } from './tls';
import { ControllerTransport, isCleartextOffLoopback } from './transport';
import { boundedCode, boundedText } from './facts';
import type { AgentMetrics } from './metrics';

export { AuthRejectedError, EnrolmentRejectedError } from './errors';

export type RequestHandler = (method: Method, params: unknown) => Promise<unknown>;

export interface SessionOptions {
  controllerUrls: string[];
  gatewayId: string;
  /** GATEWAY_SECRET; without it the secret comes from STATE_DIR/credentials.json or enrolment. */
  secret?: string;
  /** ENROLMENT_TOKEN: exchanged for the secret when neither GATEWAY_SECRET nor credentials.json has it. */
  enrolmentToken?: string;
  /** STATE_DIR, where credentials.json is kept. */
  stateDir?: string;
  proxy: ProxyEnv;
  /** How the controller's certificate is checked; default: the system CAs, no pins. */
  tls?: ControllerTrust;
  backoff: { minMs: number; maxMs: number };
  log: Logger;
  facts: () => Promise<Facts>;
  handle: RequestHandler;
  /** Called after each welcome (e.g. to flush tunnel state the controller missed). */
  onConnected?: () => void;
  /** Prometheus families (AGENT_METRICS_ADDR); none when absent. */
  metrics?: AgentMetrics;
  /** The controller's answer to a health frame: where each link's probes go. */
  onProbeTargets?: (targets: ProbeTarget[]) => void;
}

export class ControllerSession {
  private ws?: WebSocket;
  private stopped = false;
  private connected = false;
  private urlIndex: number;
  private readonly backoff: Backoff;
  private readonly credentials: Credentials;
  private readonly transport: ControllerTransport;
  /** Aborts an enrolment request in flight when the agent stops. */
  private readonly stopping = new AbortController();
  private heartbeatMs = 15_000;
  private lastFromHub = 0;
  private watchdog?: NodeJS.Timeout;
  private sleepTimer?: { timer: NodeJS.Timeout; wake: () => void };
  /** Dial again at once (same controller, no backoff): set when the agent's address changed. */
  private redialNow = false;
  /**
   * The controller closed the connection because this gateway's credentials were withdrawn
   * (deleted, secret rotated): 401s that follow are expected, and waited out at the longest
   * backoff rather than ending the agent, whose tunnels keep passing traffic meanwhile.
   */
  private revoked?: { code: number; reason: string };

  constructor(private readonly options: SessionOptions) {
    this.backoff = new Backoff(options.backoff.minMs, options.backoff.maxMs);
    this.credentials = new Credentials({
      gatewayId: options.gatewayId,
      log: options.log,
      ...(options.secret ? { secret: options.secret } : {}),
      ...(options.enrolmentToken ? { enrolmentToken: options.enrolmentToken } : {}),
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    });
    this.transport = new ControllerTransport(options.tls ?? { pins: [] }, options.proxy);
    // Spread agents over the controllers from the first dial on.
    this.urlIndex = Math.floor(Math.random() * options.controllerUrls.length);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Decides where the secret comes from (ConfigError when nothing can supply one); run() does it too. */
  loadCredentials(): Promise<void> {
    return this.credentials.load();
  }

  /** Runs until stop(); rejects only with AuthRejectedError (401: final) or ConfigError. */
  async run(): Promise<void> {
    await this.credentials.load();
    let dials = 0;
    while (!this.stopped) {
      if (dials++ > 0) this.options.metrics?.reconnects.inc();
      this.redialNow = false; // a redial asked for while sleeping is this dial
      const base = this.options.controllerUrls[this.urlIndex % this.options.controllerUrls.length]!;
      let failure: unknown;
      try {
        if (this.revoked && (await this.credentials.reloadStored())) {
          this.options.log.info('credentials.json holds a new secret; trying it');
          this.revoked = undefined;
        }
        if (this.credentials.secret === undefined) await this.credentials.enrol(base, this.transport, this.stopping.signal);
        await this.connectOnce(base, this.credentials.secret!);
      } catch (err) {
        if (err instanceof AuthRejectedError && !this.revoked) throw err;
        failure = err;
        // A dial cut short by stop() or redial() is no failure worth a warning.
        if (err instanceof AuthRejectedError) this.options.log.error(this.revokedMessage(), { url: base });
        else if (!this.stopped && !this.redialNow) this.logFailure(base, err);
      }
      if (this.stopped) break;
      if (this.redialNow) {
        this.redialNow = false;
        continue;
      }
      this.urlIndex++; // try the next controller next time
      // Withdrawn credentials do not come back by retrying: only an operator fixes them.
      const delay = this.revoked ? this.options.backoff.maxMs : retryDelay(failure, this.backoff, this.options.backoff.maxMs);
      this.options.log.info('reconnecting', { inMs: delay, attempt: this.backoff.attempts });
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
    this.options.log.info('redialling the controller', { why });
    this.redialNow = true;
    this.backoff.reset();
    this.sleepTimer?.wake();
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
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

  /** What the operator has to do about withdrawn credentials (see `revoked`). */
  private revokedMessage(): string {
    const id = this.options.gatewayId;
    const retry = `retrying every ${Math.round(this.options.backoff.maxMs / 1000)} s; the tunnels this agent holds keep running meanwhile`;
    if (this.revoked?.code === CloseCode.revoked) {
      return `the controller deleted gateway ${id}: this agent has no gateway to serve any more; stop it (its tunnels stay up until then), or register the site again and start the agent with the new gateway's id and secret; ${retry}`;
    }
    return `the controller rotated the agent secret of gateway ${id} (POST /api/gateways/${id}/secret), so the secret this agent has no longer works: ${this.credentials.rotationHint()}; ${retry}`;
  }

  /** A certificate problem is an operator's to fix, so it says what to check; all are retried. */
  private logFailure(base: string, err: unknown): void {
    const e = err as Error & { code?: unknown };
    if (isCertificateError(err)) {
      this.options.log.error('certificate problem with the controller: check CONTROLLER_CA (the CA that signed its certificate) and CONTROLLER_PIN', { url: base, err: e.message, code: e.code });
    } else if (err instanceof RetryLaterError) {
      this.options.log.warn('controller asked the agent to retry later', { url: base, err: e.message, retryAfterMs: err.retryAfterMs });
    } else {
      this.options.log.warn('controller connection failed', { url: base, err: e.message });
    }
  }

  /** One connection's life; resolves when it closes, rejects when it never opened. */
  private connectOnce(base: string, secret: string): Promise<void> {
    const url = agentEndpoint(base, AGENT_PATH);
    // Allowed only with ALLOW_INSECURE_CONTROLLER=1; said at every connect so nobody forgets it.
    if (isCleartextOffLoopback(url)) this.options.log.warn('controller connection is cleartext: PSKs and the agent secret can be read on the way', { url: base });
    return new Promise<void>((resolve, reject) => {
      let opened = false;
      let failure: Error | undefined;
      const ws = new WebSocket(url, {
        headers: { authorization: authHeader(this.options.gatewayId, secret) },
        // @types/ws declares checkServerIdentity as returning a boolean, but ws hands it to
        // tls.connect unchanged, which wants an Error or undefined.
        ...(this.transport.options(url) as ClientOptions),
        maxPayload: MAX_FRAME_BYTES,
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
      });
      this.ws = ws;
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        const status = res.statusCode;
        if (status === 401) reject(new AuthRejectedError(`controller ${url.host} rejected gateway ${this.options.gatewayId}'s credentials (401): ${this.credentials.rejectionHint()}; not retrying`));
        else reject(retryLaterFor(status, res.headers['retry-after'], `upgrade at ${url.host}`) ?? new Error(`controller answered HTTP ${status} to the upgrade`));
      });
      ws.on('open', () => {
        opened = true;
        this.lastFromHub = Date.now();
        this.armWatchdog(ws);
        this.options
          .facts()
          // Through a proxy the hub sees the proxy's address: say so, or it takes it for the site's.
          .then((facts) => ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, facts: { ...facts, connection: connectionPath(url, this.options.proxy) } } satisfies AgentFrame)))
          .catch((err: unknown) => ws.close(1011, closeReason(`could not gather facts: ${(err as Error).message}`)));
      });
      ws.on('ping', () => (this.lastFromHub = Date.now()));
      ws.on('message', (data, isBinary) => {
        this.lastFromHub = Date.now();
        this.onMessage(ws, isBinary ? '' : frameText(data));
      });
      ws.on('error', (err) => {
        failure ??= err;
        this.options.log.debug('socket error', { err: err.message });
      });
      ws.on('close', (code, reason) => {
        const wasConnected = this.connected;
        this.connected = false;
        clearInterval(this.watchdog);
        if (code === CloseCode.secretRotated || code === CloseCode.revoked) {
          this.revoked = { code, reason: reason.toString() };
          this.options.log.error(this.revokedMessage(), { code, reason: reason.toString() });
        } else if (wasConnected) this.options.log.warn('disconnected from controller', { code, reason: reason.toString() });
        // A dial that never opened (refused, TLS, timeout) is a failure the loop logs and backs off from.
        if (!opened && failure) reject(failure);
        else resolve();
      });
    });
  }

  private onMessage(ws: WebSocket, raw: string): void {
    let frame: HubFrame;
    try {
      frame = parseFrame(HubFrame, raw);
    } catch (err) {
      this.options.log.warn('malformed frame from controller', { reason: err instanceof ProtocolError ? err.message : String(err) });
      ws.close(1007, 'malformed frame');
      return;
    }
    if (frame.type === 'welcome') {
      this.connected = true;
      this.heartbeatMs = frame.heartbeatMs;
      this.backoff.reset();
      this.options.log.info('connected to controller', { url: ws.url });
      this.options.onConnected?.();
      return;
    }
    if (frame.type === 'probeTargets') {
      this.options.onProbeTargets?.(frame.targets);
      return;
    }
    void this.serve(ws, frame.id, frame.method, frame.params);
  }

  /** Every request gets a response, failures included. */
  private async serve(ws: WebSocket, id: string, method: Method, params: unknown): Promise<void> {
    let reply: AgentFrame;
    const started = performance.now();
    const served = this.options.metrics?.served[method];
    try {
      const parsed = Methods[method].params.safeParse(params);
      if (!parsed.success) throw Object.assign(new Error(`invalid params for ${method}`), { code: 'invalid_params' });
      reply = { type: 'response', id, ok: true, result: await this.options.handle(method, parsed.data) };
    } catch (err) {
      const e = err as Error & { code?: unknown };
      // Within the protocol's bounds: a frame outside them would close the connection.
      reply = { type: 'response', id, ok: false, error: { code: boundedCode(typeof e.code === 'string' ? e.code : 'failed'), message: boundedText(String(e.message), 1024) } };
    }
    if (served) {
      (reply.ok ? served.ok : served.failed).inc();
      served.seconds.observe((performance.now() - started) / 1000);
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(reply));
  }

  /** A silent controller (no ping, no frame for 2.5 heartbeats) is treated as gone. */
  private armWatchdog(ws: WebSocket): void {
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastFromHub > this.heartbeatMs * 2.5) {
        this.options.log.warn('controller silent; reconnecting', { silentMs: Date.now() - this.lastFromHub });
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

/** How a connection to `target` goes: directly, or through the proxy the environment names (host:port only). */
export function connectionPath(target: URL, proxy: ProxyEnv): NonNullable<Facts['connection']> {
  const via = proxyFor(target, proxy);
  if (!via) return { via: 'direct' };
  try {
    const u = new URL(via.includes('://') ? via : `http://${via}`);
    return { via: 'proxy', proxy: `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}` };
  } catch {
    return { via: 'proxy', proxy: 'unknown:0' };
  }
}
