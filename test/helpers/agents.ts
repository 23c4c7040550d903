// Real agents (the production Agent class and its WebSocket session) over a given IPsec driver, and
// what agent tests put around them: a hub on an http(s) server, a CONNECT proxy, a log recorder.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from '../../agent/agent';
import { StateStore } from '../../agent/state';
import type { IpsecDriver } from '../../agent/driver';
import type { MetadataSource } from '../../agent/metadata';
import type { ProxyEnv } from '../../agent/proxy';
import { GatewayHub } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { createLogger, silentLogger, type Level, type Logger } from '../../lib/log';
import type { Db } from '../../db';

type HubOptions = ConstructorParameters<typeof GatewayHub>[0];

export interface TestAgent {
  agent: Agent;
  stateDir: string;
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startTestAgent(opts: {
  controllerUrl: string | string[];
  gatewayId: string;
  /** GATEWAY_SECRET; leave it out to use STATE_DIR/credentials.json or enrolmentToken. */
  secret?: string;
  /** ENROLMENT_TOKEN. */
  enrolmentToken?: string;
  driver: IpsecDriver;
  publicIp?: string;
  stateDir?: string;
  /** A cloud metadata service to read the public address from (and watch, every addressCheckMs). */
  metadata?: MetadataSource;
  addressCheckMs?: number;
  /** CONTROLLER_CA (PEM text) and CONTROLLER_PIN. */
  tls?: { ca?: string; pins?: string[] };
  proxy?: ProxyEnv;
  backoff?: { minMs: number; maxMs: number };
  log?: Logger;
}): Promise<TestAgent> {
  const stateDir = opts.stateDir ?? (await mkdtemp(path.join(tmpdir(), 'agent-')));
  const log = opts.log ?? (process.env.TEST_LOG ? createLogger({ level: 'debug', pretty: true, base: { agent: opts.gatewayId } }) : silentLogger);
  const agent = new Agent({
    driver: opts.driver,
    state: new StateStore(stateDir),
    log,
    ...(opts.publicIp ? { publicIp: opts.publicIp } : {}),
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
    ...(opts.addressCheckMs ? { addressCheckMs: opts.addressCheckMs } : {}),
    session: {
      controllerUrls: Array.isArray(opts.controllerUrl) ? opts.controllerUrl : [opts.controllerUrl],
      gatewayId: opts.gatewayId,
      ...(opts.secret ? { secret: opts.secret } : {}),
      ...(opts.enrolmentToken ? { enrolmentToken: opts.enrolmentToken } : {}),
      stateDir,
      proxy: opts.proxy ?? {},
      tls: { pins: [], ...opts.tls },
      backoff: opts.backoff ?? { minMs: 50, maxMs: 500 },
    },
  });
  const done = agent.run();
  return {
    agent,
    stateDir,
    done,
    async stop() {
      await agent.stop();
      await done.catch(() => undefined);
    },
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface AgentHub {
  hub: GatewayHub;
  server: http.Server | https.Server;
  /** Base URL agents are given (http:// or https://127.0.0.1:port). */
  url: string;
  port: number;
  /** TCP connections the server accepted (TLS handshakes that failed included). */
  connections: number;
  stop(): Promise<void>;
}

/**
 * A real hub on a server of the test's own, as the controller runs it: plain HTTP, or HTTPS with
 * the given certificate. `intercept` sees each agent upgrade first and may answer it itself
 * (return true), e.g. with a 429; `http` serves plain requests (default: the hub's handleHttp).
 */
export async function startAgentHub(db: Db, opts: {
  tls?: { key: string; cert: string };
  /** Hub options over the test defaults (limits, e.g. authFailures). */
  hubOptions?: Partial<HubOptions>;
  port?: number;
  intercept?: (req: http.IncomingMessage, socket: Duplex) => boolean;
  http?: (req: http.IncomingMessage, res: http.ServerResponse, hub: GatewayHub) => void;
} = {}): Promise<AgentHub> {
  const hub = new GatewayHub({ instanceId: 'h1', store: dbPresenceStore(db), log: silentLogger, heartbeatMs: 300, rpcTimeoutMs: 2000, helloTimeoutMs: 1000, ...opts.hubOptions });
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => (opts.http ? opts.http(req, res, hub) : hub.handleHttp(req, res));
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : http.createServer(onRequest);
  // The hub listens on a server of its own that never accepts connections, so an interceptor can
  // answer an upgrade before the hub sees it.
  const inner = http.createServer();
  hub.attach(inner);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (opts.intercept?.(req, socket)) return;
    inner.emit('upgrade', req, socket, head);
  });
  const state: AgentHub = {
    hub,
    server,
    url: '',
    port: 0,
    connections: 0,
    async stop() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${state.port}`;
  return state;
}

export interface ConnectProxy {
  url: string;
  /** The CONNECT targets asked for, in order. */
  tunnels: string[];
  /** Cuts every tunnel open now (the agent sees its controller connection drop). */
  cutTunnels(): void;
  stop(): Promise<void>;
}

/**
 * A small HTTP CONNECT proxy, like a corporate one. `hosts` maps names to the loopback address
 * they reach here, so a test can dial a controller by a name that is not loopback.
 */
export async function startConnectProxy(opts: { hosts?: Record<string, string>; urlHost?: string } = {}): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const open = new Set<net.Socket>();
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    tunnels.push(target);
    const at = target.lastIndexOf(':');
    const host = target.slice(0, at).replace(/^\[|\]$/g, '');
    const upstream = net.connect(Number(target.slice(at + 1)), opts.hosts?.[host] ?? host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    open.add(client);
    client.on('close', () => open.delete(client));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    // The name the agent is given for the proxy (it listens on 127.0.0.1 either way).
    url: `http://${opts.urlHost ?? '127.0.0.1'}:${(proxy.address() as AddressInfo).port}`,
    tunnels,
    cutTunnels() {
      for (const socket of open) socket.destroy();
    },
    async stop() {
      proxy.closeAllConnections();
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

export interface LogRecord {
  level: Level;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every record (debug included), to check what was said and what never was. */
export function recordingLogger(): { log: Logger; records: LogRecord[]; text(): string } {
  const records: LogRecord[] = [];
  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
      records.push({ level, msg, fields: { ...base, ...fields } });
    };
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => make({ ...base, ...fields }) };
  };
  return {
    log: make({}),
    records,
    // Errors are flattened the way the JSON logger writes them, so a secret inside one would show.
    text: () => records.map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, code: (v as NodeJS.ErrnoException).code } : v))).join('\n'),
  };
}

/**
 * Two on-prem gateways, each with an agent on `network`, linked through `controller`'s API; resolves
 * with the link's id once it is `up`. The agents go into `agents`, for the caller to stop.
 */
export async function linkTwoOnpremSites(
  controller: { api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>; agentUrl: string },
  network: { driver(publicIp: string): IpsecDriver },
  sites: ReadonlyArray<readonly [name: string, cidr: string, publicIp: string]>,
  agents: TestAgent[],
  upWithinMs = 30_000,
): Promise<string> {
  const ends: string[] = [];
  for (const [name, cidr, publicIp] of sites) {
    const gateway = (await controller.api<{ id: string; agentSecret: string }>('POST', '/api/gateways', { name, provider: 'onprem', cidrs: [cidr] })).body;
    agents.push(await startTestAgent({ controllerUrl: controller.agentUrl, gatewayId: gateway.id, secret: gateway.agentSecret, driver: network.driver(publicIp), publicIp }));
    ends.push(gateway.id);
  }
  const created = await controller.api<{ id: string }>('POST', '/api/links', { a: ends[0], b: ends[1] });
  if (created.status !== 202) throw new Error(`POST /api/links answered ${created.status}: ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  for (const until = Date.now() + upWithinMs; ; await new Promise((resolve) => setTimeout(resolve, 50))) {
    const state = (await controller.api<{ state: string }>('GET', `/api/links/${id}`)).body.state;
    if (state === 'up') return id;
    if (Date.now() > until) throw new Error(`link ${id} is ${state}, not up, after ${upWithinMs} ms`);
  }
}

/**
 * One on-prem hub gateway `<tag>-hub` linked to `count` spoke gateways `<tag>-<i>` through
 * `controller`'s API, without agents (the links' workflows wait for them); the links' ids in order.
 */
export async function linkHubToSpokes(controller: { api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> }, tag: string, count: number): Promise<string[]> {
  const gateway = async (name: string, cidr: string): Promise<string> => {
    const created = await controller.api<{ id: string }>('POST', '/api/gateways', { name, provider: 'onprem', cidrs: [cidr] });
    if (created.status !== 201) throw new Error(`POST /api/gateways answered ${created.status}: ${JSON.stringify(created.body)}`);
    return created.body.id;
  };
  const hub = await gateway(`${tag}-hub`, '10.0.0.0/24');
  const links: string[] = [];
  for (let index = 0; index < count; index++) {
    const spoke = await gateway(`${tag}-${index}`, `10.${1 + Math.floor(index / 250)}.${index % 250}.0/24`);
    const link = await controller.api<{ id: string }>('POST', '/api/links', { a: hub, b: spoke });
    if (link.status !== 202) throw new Error(`POST /api/links answered ${link.status}: ${JSON.stringify(link.body)}`);
    links.push(link.body.id);
  }
  return links;
}
