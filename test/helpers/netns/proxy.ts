// The fixture's HTTP CONNECT proxy: Debian's tinyproxy in the foreground in its own namespace on
// the internet bridge, with its config, log and output in the fixture directory. Never the system
// tinyproxy service: this one is started, stopped and killed by the fixture like charon.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProxyPlan } from './plan';
import { NsProcess } from './ns-process';

export const TINYPROXY_PATH = '/usr/bin/tinyproxy';

export interface ProxyPaths {
  dir: string;
  conf: string;
  log: string;
  stdio: string;
}

export function proxyPaths(dir: string): ProxyPaths {
  return { dir, conf: path.join(dir, 'tinyproxy.conf'), log: path.join(dir, 'tinyproxy.log'), stdio: path.join(dir, 'tinyproxy.out') };
}

/**
 * tinyproxy.conf: no Allow/Deny lines (every client allowed) and no ConnectPort lines (CONNECT to
 * every port allowed: Debian's stock config would limit it to 443 and 563). No User line: it stays
 * root, so the log in the fixture directory stays writable (it warns about that once). LogLevel
 * Connect records every CONNECT, which is what a test wants to see.
 */
export function tinyproxyConf(plan: ProxyPlan, paths: ProxyPaths): string {
  return [
    '# Written by test/helpers/netns/proxy.ts.',
    `Port ${plan.port}`,
    `Listen ${plan.publicIp}`,
    `Timeout ${plan.idleTimeoutS}`,
    `LogFile "${paths.log}"`,
    'LogLevel Connect',
    'MaxClients 256',
    'DisableViaHeader Yes',
    '',
  ].join('\n');
}

export function prepareProxyDir(plan: ProxyPlan): ProxyPaths {
  const paths = proxyPaths(plan.dir);
  fs.mkdirSync(paths.dir, { recursive: true });
  fs.writeFileSync(paths.conf, tinyproxyConf(plan, paths));
  return paths;
}

/** Resolves true once something accepts TCP on ip:port (from the root namespace, which routes to the proxy). */
async function accepts(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export class TinyproxyProcess extends NsProcess {
  constructor(
    private readonly plan: ProxyPlan,
    readonly paths: ProxyPaths,
  ) {
    super(paths);
  }

  /** Starts tinyproxy in the foreground (-d) and resolves once its port accepts connections. */
  async start(timeoutMs = 5_000): Promise<void> {
    if (this.running) throw new Error('tinyproxy is already running');
    if (!fs.existsSync(TINYPROXY_PATH)) throw new Error(`${TINYPROXY_PATH} is missing: run scripts/ensure-test-tools.sh as root`);
    const out = fs.openSync(this.paths.stdio, 'a');
    const child = spawn('ip', ['netns', 'exec', this.plan.ns, TINYPROXY_PATH, '-d', '-c', this.paths.conf], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const exitedEarly = this.adopt(child);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitedEarly()) throw new Error(`tinyproxy exited during start-up:\n${this.logTail()}`);
      if (await accepts(this.plan.publicIp, this.plan.port, 500)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`tinyproxy did not accept on ${this.plan.publicIp}:${this.plan.port} within ${timeoutMs} ms:\n${this.logTail()}`);
      }
      await sleep(5);
    }
  }
}
