// The whole system on the namespace fixture: a Temporal dev server, one controller listening on
// the fixture's controller address, and one real agent process per site inside its gateway
// namespace, next to that site's charon. Shared by the e2e tests and the benchmarks.
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetFixture, type SiteSpec } from './netns';
import { startTestTemporal, type TestTemporal } from './temporal';
import { startTestController, type TestController } from './controller';
import { createSqliteTestDb } from './db';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export interface GatewayOut {
  id: string;
  name: string;
  agentSecret: string;
  online: boolean;
  observedIp: string | null;
  endpoint: string | null;
}

export interface Stack {
  fixture: NetFixture;
  temporal: TestTemporal;
  controller: TestController;
  gateways: Map<string, GatewayOut>;
  agents: Map<string, ChildProcess>;
  /** Starts (or restarts) the agent of a site and waits until the controller shows it online. */
  startAgent(site: string, env?: Record<string, string>): Promise<void>;
  stopAgent(site: string, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(opts: {
  id: string;
  sites: SiteSpec[];
  heartbeatMs?: number;
  /** Called once the controller runs (e.g. to register cloud accounts); returns extra context for register. */
  beforeRegister?: (controller: TestController) => Promise<void>;
  /** The POST /api/gateways body for a site; default: an on-prem gateway with the site's LAN. */
  register?: (site: SiteSpec) => Record<string, unknown>;
}): Promise<Stack> {
  const fixture = await NetFixture.create({ id: opts.id, sites: opts.sites });
  const cleanups: Array<() => Promise<void>> = [() => fixture.destroy()];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const [temporal, dbh] = await Promise.all([startTestTemporal(), createSqliteTestDb(), ...opts.sites.map((s) => fixture.startCharon(s.name))]);
    cleanups.push(() => temporal.stop(), () => dbh.cleanup());
    await dbh.db.$disconnect();
    const controller = await startTestController({
      temporal,
      databaseUrl: dbh.url,
      taskQueue: `e2e-${randomBytes(4).toString('hex')}`,
      host: fixture.controllerIp,
      heartbeatMs: opts.heartbeatMs ?? 2000,
    });
    cleanups.push(() => controller.close());
    await opts.beforeRegister?.(controller);
    const gateways = new Map<string, GatewayOut>();
    for (const s of opts.sites) {
      const body = opts.register?.(s) ?? { name: s.name, provider: 'onprem', cidrs: [s.lanCidr] };
      const r = await controller.api<GatewayOut>('POST', '/api/gateways', body);
      if (r.status !== 201) throw new Error(`registering ${s.name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      gateways.set(s.name, r.body);
    }
    // Cloud gateways are discovered from their public IP; wait until that settled.
    for (const [name, g] of gateways) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await controller.api<{ state: string; stateReason: string | null }>('GET', `/api/gateways/${g.id}`);
        if (r.body.state === 'ready') break;
        if (r.body.state === 'failed') throw new Error(`discovery of ${name} failed: ${r.body.stateReason}`);
        if (Date.now() > deadline) throw new Error(`discovery of ${name} did not finish`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    const agents = new Map<string, ChildProcess>();
    const stack: Stack = {
      fixture,
      temporal,
      controller,
      gateways,
      agents,
      async startAgent(site, env = {}) {
        const g = gateways.get(site)!;
        const info = fixture.site(site);
        const log = createWriteStream(path.join(info.dir, 'agent.log'), { flags: 'a' });
        const child = fixture.spawnInGateway(site, TSX, [path.join(ROOT, 'agent', 'main.ts')], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            CONTROLLER_URL: controller.url,
            GATEWAY_ID: g.id,
            GATEWAY_SECRET: g.agentSecret,
            VICI_SOCKET: info.viciSocket,
            STATE_DIR: path.join(info.dir, 'agent-state'),
            BACKOFF_MIN_MS: '200',
            BACKOFF_MAX_MS: '2000',
            LOG_LEVEL: 'debug',
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout?.pipe(log);
        child.stderr?.pipe(log);
        agents.set(site, child);
        const deadline = Date.now() + 20_000;
        for (;;) {
          const r = await controller.api<GatewayOut>('GET', `/api/gateways/${g.id}`);
          if (r.body.online) return;
          if (child.exitCode !== null) throw new Error(`agent of ${site} exited with ${child.exitCode}; see ${info.dir}/agent.log`);
          if (Date.now() > deadline) throw new Error(`agent of ${site} did not come online; see ${info.dir}/agent.log`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async stopAgent(site, signal = 'SIGTERM') {
        const child = agents.get(site);
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill(signal);
        await exited;
      },
      close,
    };
    cleanups.push(async () => {
      await Promise.all([...agents.keys()].map((s) => stack.stopAgent(s)));
    });
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}
