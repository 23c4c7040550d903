// The whole system on the namespace fixture: a Temporal dev server, one controller listening on
// the fixture's controller address, and one real agent process per site inside its gateway
// namespace, next to that site's charon. Shared by the e2e tests and the benchmarks.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetFixture, type SiteSpec } from './netns';
import { quietTemporalRuntime, startTestTemporal, testWorkflowBundle, type TestTemporal } from './temporal';
import { startTestController, type TestController } from './controller';
import { createSqliteTestDb } from './db';
import { startDevServer, type DevServer } from '../../controller/temporal-dev';
import { portOutsideEphemeralRange } from './procs';
import { newSecretKey, parseSecretKey } from '../../lib/crypto';
import type { GatewayBody, RegisteredGatewayBody } from './api-harness';

const ROOT = path.resolve(__dirname, '..', '..');

/** What POST /api/gateways answers. */
export type GatewayOut = RegisteredGatewayBody;

export interface Stack {
  fixture: NetFixture;
  temporal: TestTemporal;
  controller: TestController;
  gateways: Map<string, GatewayOut>;
  agents: Map<string, ChildProcess>;
  /**
   * Starts (or restarts) the agent of a site and waits until the controller shows it online
   * (`waitOnline: false`: only until the process runs, e.g. while no controller is reachable).
   */
  startAgent(site: string, env?: Record<string, string>, opts?: { waitOnline?: boolean }): Promise<void>;
  stopAgent(site: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stops the controller (every role, as if its process went away); a no-op when already stopped. */
  stopController(): Promise<void>;
  /**
   * Starts a new controller on the same database, task queue, secret key, address and port (the
   * agents' CONTROLLER_URL stays valid), stopping the current one first; `controller` is replaced.
   */
  restartController(): Promise<TestController>;
  /** Stops the Temporal server; only with `persistentTemporal` (an in-memory server forgets everything). */
  stopTemporal(): Promise<void>;
  /** Starts the Temporal server again on the same port and database file (`persistentTemporal`). */
  startTemporal(): Promise<void>;
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
  /**
   * Run Temporal with a database file instead of in memory, so it can be stopped and started
   * again (stopTemporal/startTemporal) without losing workflows.
   */
  persistentTemporal?: boolean;
  /** An HTTP proxy (tinyproxy) on the fixture's internet; agents of onlyThroughProxy sites use it. */
  proxy?: { publicIp: string };
}): Promise<Stack> {
  const fixture = await NetFixture.create({ id: opts.id, sites: opts.sites, ...(opts.proxy ? { proxy: opts.proxy } : {}) });
  const cleanups: Array<() => Promise<void>> = [() => fixture.destroy()];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const [temporal, dbh] = await Promise.all([
      opts.persistentTemporal ? startPersistentTemporal() : startTestTemporal(),
      createSqliteTestDb(),
      ...opts.sites.map((s) => fixture.startCharon(s.name)),
    ]);
    cleanups.push(() => temporal.stop(), () => dbh.cleanup());
    await dbh.db.$disconnect();
    // Kept so a restarted controller is the same deployment: same database, queue and key.
    const controllerOpts = {
      temporal,
      databaseUrl: dbh.url,
      taskQueue: `e2e-${randomBytes(4).toString('hex')}`,
      agentHost: fixture.controllerIp,
      heartbeatMs: opts.heartbeatMs ?? 2000,
      secretKey: parseSecretKey(newSecretKey()),
    };
    const controller = await startTestController(controllerOpts);
    // The controller serving now (restartController replaces it); undefined while stopped.
    let current: TestController | undefined = controller;
    const stopController = async () => {
      const c = current;
      current = undefined;
      await c?.close();
    };
    cleanups.push(stopController);
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
        const r = await controller.api<GatewayBody>('GET', `/api/gateways/${g.id}`);
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
      async startAgent(site, env = {}, startOpts = {}) {
        const g = gateways.get(site)!;
        const info = fixture.site(site);
        const log = createWriteStream(path.join(info.dir, 'agent.log'), { flags: 'a' });
        // One node process (no tsx CLI relaying signals in front of it), as `npm run agent` runs it.
        const child = fixture.spawnInGateway(site, process.execPath, ['--import', 'tsx', path.join(ROOT, 'agent', 'main.ts')], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            CONTROLLER_URL: stack.controller.agentUrl,
            // The fixture's controller address is not loopback, and these agents talk plain ws://
            // to it inside namespaces the test made (TLS between agent and controller has tests
            // of its own: test/security/agent-tls.test.ts, controller-process.test.ts).
            ALLOW_INSECURE_CONTROLLER: '1',
            // A site whose direct path to the controller is blocked reaches it through the proxy.
            ...(info.onlyThroughProxy ? fixture.proxyEnv() : {}),
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
        if (startOpts.waitOnline === false) {
          // Running is enough: give it a moment to fail on bad configuration, then return.
          await new Promise((r) => setTimeout(r, 500));
          if (child.exitCode !== null) throw new Error(`agent of ${site} exited with ${child.exitCode}; see ${info.dir}/agent.log`);
          return;
        }
        const deadline = Date.now() + 20_000;
        for (;;) {
          const r = await stack.controller.api<GatewayBody>('GET', `/api/gateways/${g.id}`);
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
      stopController,
      async restartController() {
        await stopController();
        current = await startTestController({ ...controllerOpts, agentPort: controller.agentPort });
        stack.controller = current;
        return current;
      },
      async stopTemporal() {
        if (!isPersistent(temporal)) throw new Error('stopTemporal needs startStack({ persistentTemporal: true })');
        await temporal.stopServer();
      },
      async startTemporal() {
        if (!isPersistent(temporal)) throw new Error('startTemporal needs startStack({ persistentTemporal: true })');
        await temporal.startServer();
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

interface PersistentTemporal extends TestTemporal {
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
}

function isPersistent(t: TestTemporal): t is PersistentTemporal {
  return 'stopServer' in t;
}

/** A Temporal dev server backed by a database file on a fixed port: it can stop and start again. */
async function startPersistentTemporal(): Promise<PersistentTemporal> {
  quietTemporalRuntime();
  const dir = mkdtempSync(path.join(tmpdir(), 'temporal-'));
  const port = await portOutsideEphemeralRange();
  const dbFile = path.join(dir, 'temporal.db');
  let server: DevServer | undefined;
  const startServer = async () => {
    server ??= await startDevServer({ port, headless: true, dbFile });
  };
  const stopServer = async () => {
    const s = server;
    server = undefined;
    await s?.stop();
  };
  try {
    const [bundle] = await Promise.all([testWorkflowBundle(), startServer()]);
    return {
      address: `127.0.0.1:${port}`,
      namespace: 'default',
      bundle,
      startServer,
      stopServer,
      async stop() {
        await stopServer();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopServer();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

