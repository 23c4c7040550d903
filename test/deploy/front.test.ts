// deploy/front/nginx.conf run by a real nginx (Debian's nginx-light), its upstream names pointed at
// loopback ports: before a header echo, every location passes the client's Host (the controllers'
// DNS-rebinding guard reads it) and /agent the WebSocket upgrade; before two real controller
// runtimes, /healthz and the API answer through it, an agent's WebSocket to /agent is carried, and
// when the replica holding the agent stops, the agent comes back through the same address on the
// other one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { missing, withStack, type GatewayOut } from '../helpers/with-stack';
import type { TestController } from '../helpers/controller';
import { portOutsideEphemeralRange, waitFor } from '../helpers/procs';
import { asGatewayId } from '../../protocol/ids';
import { findTool, read, run } from './files';

const TOKEN = 'front-test-token-0123456789';
const nginx = findTool('nginx', ['/usr/sbin/nginx']);
if (!nginx) console.warn('front tests skipped: no nginx (apt-get install nginx-light)');
const needs = { controller: { apiToken: TOKEN }, agents: true, name: 'front' } as const;

/** The compose front's config with its names and paths made local; every replacement must hit. */
function localConfig(dir: string, port: number, replicas: Array<{ name: string; api: number; agent: number }>): string {
  let conf = read('deploy/front/nginx.conf');
  const sub = (from: string | RegExp, to: string) => {
    const before = conf;
    conf = conf.replace(from, to);
    expect(conf, `front config has ${String(from)}`).not.toBe(before);
  };
  sub(/^\s*listen 8080;$/m, `  listen 127.0.0.1:${port};`);
  sub(/^pid \/tmp\/nginx\.pid;$/m, `pid ${dir}/nginx.pid;`);
  conf = conf.replace(/ \/tmp\/(\w+);/g, ` ${dir}/$1;`);
  for (const r of replicas) {
    sub(`server ${r.name}:8080 `, `server 127.0.0.1:${r.api} `);
    sub(`server ${r.name}:8081 `, `server 127.0.0.1:${r.agent} `);
  }
  return conf;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** nginx with the front's config before these upstream ports, on a port of its own; stop() ends it and removes its files. */
async function startFront(replicas: Array<{ name: string; api: number; agent: number }>): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'front-'));
  // nginx's workers run as nobody when started by root: they write their temp files here.
  chmodSync(dir, 0o777);
  const port = await portOutsideEphemeralRange();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, localConfig(dir, port, replicas));
  const check = run(nginx!, ['-t', '-p', dir, '-c', conf]);
  expect(check.code, check.out).toBe(0);
  const proc = spawn(nginx!, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise((r) => proc.once('exit', r));
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`nginx on ${port}`, async () => ((await portOpen(port)) ? true : undefined), 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

/** A request with a chosen Host; resolves with the answer, or the 101 of an upgrade. */
function request(url: string, p: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(p, url), { headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${p} timed out`)));
    req.end();
  });
}

describe.skipIf(!nginx)('deploy/front/nginx.conf passes the client Host and the upgrade (real nginx before a header echo)', () => {
  let echo: http.Server;
  let front: { url: string; stop(): Promise<void> };

  beforeAll(async () => {
    echo = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ host: req.headers.host, forwardedFor: req.headers['x-forwarded-for'], url: req.url }));
    });
    echo.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Echo-Host: ${req.headers.host}\r\nX-Echo-Upgrade: ${req.headers.upgrade}\r\n\r\n`);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as AddressInfo).port;
    front = await startFront([
      { name: 'controller-1', api: port, agent: port },
      { name: 'controller-2', api: port, agent: port },
    ]);
  });

  afterAll(async () => {
    await front?.stop();
    echo?.closeAllConnections();
    await new Promise((r) => echo?.close(r));
  });

  it.each(['/healthz', '/api/gateways', '/api/events', '/'])('%s: the Host the client sent, and who it was', async (p) => {
    const r = await request(front.url, p, { host: 'mesh.example.com:8443' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ host: 'mesh.example.com:8443', forwardedFor: '127.0.0.1', url: p });
  });

  it('/agent: upgraded to a WebSocket, with the Host the agent sent', async () => {
    const r = await request(front.url, '/agent', { host: 'mesh.example.com', connection: 'Upgrade', upgrade: 'websocket' });
    expect(r.status).toBe(101);
    expect([r.headers['x-echo-host'], r.headers['x-echo-upgrade']]).toEqual(['mesh.example.com', 'websocket']);
  });
});

describe.skipIf(!nginx || missing(needs, 'front tests'))('deploy/front/nginx.conf in front of two controllers (real nginx)', () => {
  const s = withStack(needs);
  let second: TestController;
  let front: { url: string; stop(): Promise<void> };
  let url: string;
  const call = async <T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${p}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  beforeAll(async () => {
    second = await s.controller({ apiToken: TOKEN });
    front = await startFront([
      { name: 'controller-1', api: s.ctl.port!, agent: s.ctl.agentPort },
      { name: 'controller-2', api: second.port!, agent: second.agentPort },
    ]);
    url = front.url;
  });

  afterAll(async () => {
    await front?.stop();
  });

  it('answers /healthz and the API through the front', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', checks: { database: 'ok', temporal: 'ok' } });
    expect((await call('GET', '/api/gateways')).status).toBe(200);
    expect((await fetch(`${url}/api/gateways`)).status).toBe(401);
  });

  it('carries an agent on /agent, and brings it back on the other replica when its own stops', async () => {
    const created = await call<GatewayOut>('POST', '/api/gateways', { name: 'front-site', provider: 'onprem', cidrs: ['10.91.0.0/16'] });
    expect(created.status).toBe(201);
    const g = created.body;
    await s.agent(g, '198.51.100.91', { controllerUrl: url }, { waitOnline: false });
    const id = asGatewayId(g.id);
    const replicas = [s.ctl, second];
    const holder = await waitFor('the agent connected through the front', async () => replicas.find((c) => c.hub?.isConnected(id)), 15_000);
    expect((await call<{ online: boolean }>('GET', `/api/gateways/${g.id}`)).body.online).toBe(true);

    const other = replicas.find((c) => c !== holder)!;
    await holder.close();
    await waitFor('the agent back on the other replica through the front', async () => (other.hub?.isConnected(id) ? true : undefined), 20_000);
    // The API still answers at the same address (nginx skips the stopped replica).
    expect((await call<{ online: boolean }>('GET', `/api/gateways/${g.id}`)).status).toBe(200);
  });
});
