// Two on-prem sites for the console test, whose gateways the test registers through the console
// (so, unlike startStack, nothing is registered here): real charon in network namespaces when this
// machine can (root), else the contract-tested fake IPsec network (test/helpers/fake-ipsec.ts).
// Site "dc" has a second LAN subnet its link does not carry at first, for the CIDR change.
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { NetFixture, netnsSupport } from '../helpers/netns';
import { startTestTemporal } from '../helpers/temporal';
import { startTestController, type TestController } from '../helpers/controller';
import { createSqliteTestDb } from '../helpers/db';
import { removeDir, startTestAgent, type TestAgent } from '../helpers/agents';
import { FakeIpsecNetwork } from '../helpers/fake-ipsec';

const ROOT = path.resolve(__dirname, '..', '..');

export interface SitePlan {
  name: string;
  publicIp: string;
  /** The site's LAN; the first /24 is the gateway's, the second one added for the CIDR change. */
  cidrs: [string, ...string[]];
}

export const SITES: readonly SitePlan[] = [
  { name: 'dc', publicIp: '198.51.100.94', cidrs: ['10.94.0.0/24', '10.96.0.0/24'] },
  { name: 'branch', publicIp: '203.0.113.95', cidrs: ['10.95.0.0/24'] },
];

export interface ConsoleSites {
  /** What carries the tunnels, for the test's log line. */
  readonly mode: string;
  readonly controller: TestController;
  /** Starts the agent of `site` as gateway `gatewayId` with `secret` (what the console showed once). */
  startAgent(site: string, gatewayId: string, secret: string): Promise<void>;
  /**
   * Whether a TCP connection from `from`'s LAN host reaches port 7000 on `to`'s host in subnet
   * `cidrIndex` of `to` (real tunnels only; undefined with the fake, which carries no packets).
   */
  reaches?(from: string, to: string, cidrIndex: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The n-th address of a /24 given as a.b.c.0/24. */
const hostIn = (cidr: string, n: number): string => cidr.replace(/\.0\/24$/, `.${n}`);

export async function startConsoleSites(id: string): Promise<ConsoleSites> {
  const net = await netnsSupport();
  return net.ok ? startRealSites(id) : startFakeSites(`fake IPsec (${net.reason})`);
}

async function startRealSites(id: string): Promise<ConsoleSites> {
  const fixture = await NetFixture.create({ id, sites: SITES.map((s) => ({ name: s.name, publicIp: s.publicIp, lanCidr: s.cidrs[0] })) });
  const cleanups: Array<() => Promise<void>> = [() => fixture.destroy()];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const [temporal, dbh] = await Promise.all([startTestTemporal(), createSqliteTestDb(), ...SITES.map((s) => fixture.startCharon(s.name))]);
    cleanups.push(() => temporal.stop(), () => dbh.cleanup());
    await dbh.db.$disconnect();
    const controller = await startTestController({ temporal, databaseUrl: dbh.url, taskQueue: `web-${randomBytes(4).toString('hex')}`, agentHost: fixture.controllerIp, heartbeatMs: 2000, temporalUiUrl: 'http://127.0.0.1:8233' });
    cleanups.push(() => controller.close());
    for (const s of SITES) {
      // Every further subnet: the gateway takes .1 on its LAN link, the host .2.
      for (const cidr of s.cidrs.slice(1)) {
        await fixture.exec(s.name, 'gw', 'ip', ['addr', 'add', `${hostIn(cidr, 1)}/24`, 'dev', 'lan']);
        await fixture.exec(s.name, 'host', 'ip', ['addr', 'add', `${hostIn(cidr, 2)}/24`, 'dev', 'eth0']);
      }
      await fixture.tcpServer(s.name, 7000);
    }
    return {
      mode: 'real strongSwan in network namespaces',
      controller,
      async startAgent(site, gatewayId, secret) {
        const info = fixture.site(site);
        const log = createWriteStream(path.join(info.dir, 'agent.log'), { flags: 'a' });
        const child = fixture.spawnInGateway(site, process.execPath, ['--import', 'tsx', path.join(ROOT, 'agent', 'main.ts')], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            CONTROLLER_URL: controller.agentUrl,
            // Plain ws:// to the fixture's controller address, inside namespaces the test made.
            ALLOW_INSECURE_CONTROLLER: '1',
            GATEWAY_ID: gatewayId,
            GATEWAY_SECRET: secret,
            VICI_SOCKET: info.viciSocket,
            STATE_DIR: path.join(info.dir, 'agent-state'),
            BACKOFF_MIN_MS: '200',
            BACKOFF_MAX_MS: '2000',
            LOG_LEVEL: 'debug',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout?.pipe(log);
        child.stderr?.pipe(log);
        await waitOnline(controller, gatewayId, () => (child.exitCode === null ? undefined : `agent of ${site} exited with ${child.exitCode}; see ${info.dir}/agent.log`));
      },
      async reaches(from, to, cidrIndex, timeoutMs) {
        const target = SITES.find((s) => s.name === to)!.cidrs[cidrIndex]!;
        return fixture.tcpProbe(from, hostIn(target, 2), 7000, timeoutMs);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function startFakeSites(mode: string): Promise<ConsoleSites> {
  const [temporal, dbh] = await Promise.all([startTestTemporal(), createSqliteTestDb()]);
  const agents: TestAgent[] = [];
  const cleanups: Array<() => Promise<void>> = [() => temporal.stop(), () => dbh.cleanup()];
  const close = async () => {
    for (const a of agents) await a.stop().then(() => removeDir(a.stateDir)).catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    await dbh.db.$disconnect();
    const controller = await startTestController({ temporal, databaseUrl: dbh.url, taskQueue: `web-${randomBytes(4).toString('hex')}`, temporalUiUrl: 'http://127.0.0.1:8233' });
    cleanups.push(() => controller.close());
    const net = new FakeIpsecNetwork();
    return {
      mode,
      controller,
      async startAgent(site, gatewayId, secret) {
        const ip = SITES.find((s) => s.name === site)!.publicIp;
        agents.push(await startTestAgent({ controllerUrl: controller.agentUrl, gatewayId, secret, driver: net.driver(ip), publicIp: ip }));
        await waitOnline(controller, gatewayId, () => undefined);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Until the controller shows the gateway online; `failed` names a reason to stop waiting. */
async function waitOnline(controller: TestController, gatewayId: string, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await controller.api<{ online: boolean }>('GET', `/api/gateways/${gatewayId}`);
    if (r.body.online) return;
    const why = failed();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`gateway ${gatewayId} did not come online within 20 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
