// One fixture for test files that need part of the system running (modelled on sdk-typescript's
// packages/test/src/helpers-integration.ts): a file says what it needs — a Temporal namespace, a
// database, the cloud emulators, a controller, fake-IPsec agents — and withStack starts exactly
// that before its tests and stops it after them, also when they fail.
//
//   const needs = { controller: true, agents: true } as const;
//   describe.skipIf(missing(needs, 'link tests'))('links', () => {
//     const s = withStack(needs);
//     it('comes up', async () => { const g = await s.gateway('a', ['10.1.0.0/24']); await s.agent(g, '198.51.100.1'); … });
//   });
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import type { AliyunFakeOptions } from '../fakes/aliyun';
import { removeDir, startTestAgent, type TestAgent } from './agents';
import { motoAvailable, registerAccounts, startClouds, type Clouds } from './clouds';
import { startTestController, type TestController } from './controller';
import { createPgTestDb, createSqliteTestDb, type TestDb } from './db';
import { FakeIpsecNetwork } from './fake-ipsec';
import { startTestTemporal, temporalCliAvailable, type TestTemporal } from './temporal';
import type { GatewayBody, RegisteredGatewayBody } from './api-harness';

/** A controller's options beyond what the stack gives it (its Temporal, database and task queue). */
export type ControllerExtras = Partial<Omit<Parameters<typeof startTestController>[0], 'temporal' | 'databaseUrl' | 'taskQueue'>>;

export interface StackNeeds {
  /** A namespace of its own on the run's Temporal server, and the workflow bundle. A controller implies it. */
  temporal?: boolean;
  /** A migrated throwaway database (a controller implies SQLite). */
  db?: 'sqlite' | 'postgresql';
  /** moto and the Alibaba fake (options for the fake); with a controller, an account on each unless `accounts: false`. */
  clouds?: boolean | Partial<AliyunFakeOptions>;
  accounts?: boolean;
  /** A controller (API, hub, worker: every role unless told) on the stack's task queue. */
  controller?: boolean | ControllerExtras;
  /** Agents over one FakeIpsecNetwork, started with stack.agent() and stopped with the stack. */
  agents?: boolean;
  /** Prefix of the stack's task queue (its name in Temporal's UI and logs). */
  name?: string;
}

/** What POST /api/gateways answers. */
export type GatewayOut = RegisteredGatewayBody;

export interface TestStack {
  readonly temporal: TestTemporal;
  /** The database; with a controller, its URL only (the controller holds the one client: ctl.db). */
  readonly db: TestDb;
  readonly clouds: Clouds;
  /** The cloud accounts registered on the controller, when it runs beside the clouds. */
  readonly accounts: { aliyun: string; aws: string };
  readonly ctl: TestController;
  readonly taskQueue: string;
  readonly net: FakeIpsecNetwork;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Registers a gateway (an on-prem one with these CIDRs, or this POST body); expects 201. */
  gateway<T extends { id: string } = GatewayOut>(name: string, cidrsOrBody: string[] | Record<string, unknown>): Promise<T>;
  /**
   * Starts a real agent for `g` on the fake IPsec network at `ip` (its public address unless the
   * agent reads one from metadata), and waits until the controller shows it online.
   */
  agent(g: { id: string; agentSecret: string }, ip: string, extra?: Partial<Parameters<typeof startTestAgent>[0]>, o?: { waitOnline?: boolean }): Promise<TestAgent>;
  /** Another controller on the same Temporal namespace, database and task queue (stopped with the stack). */
  controller(extra?: ControllerExtras): Promise<TestController>;
  /** Runs `fn` when the stack stops, before what the stack started itself (last registered first). */
  onClose(fn: () => Promise<void> | void): void;
  /** Stops `thing` (an agent started by hand, a fake server) when the stack stops, an agent's state directory removed; returns it. */
  track<T extends { stop(): Promise<void> }>(thing: T): T;
}

/** Why this machine cannot give a file what it needs (printed once, with `what`), or undefined. */
export function missing(needs: StackNeeds, what: string): string | undefined {
  const cli = temporalCliAvailable();
  const moto = motoAvailable();
  const reason = (needs.temporal || needs.controller) && !cli.ok ? cli.reason : needs.clouds && !moto.ok ? moto.reason : undefined;
  if (reason) console.warn(`${what} skipped: ${reason}`);
  return reason;
}

/** Registers beforeAll/afterAll in the calling suite that start and stop what `needs` asks for. */
export function withStack(needs: StackNeeds): TestStack {
  const parts: Partial<{ temporal: TestTemporal; db: TestDb; clouds: Clouds; accounts: { aliyun: string; aws: string }; ctl: TestController; net: FakeIpsecNetwork }> = {};
  const taskQueue = `${needs.name ?? 'test'}-${randomBytes(4).toString('hex')}`;
  const agents: TestAgent[] = [];
  const controllers: TestController[] = [];
  const closers: Array<() => Promise<void> | void> = [];
  const wantsTemporal = Boolean(needs.temporal || needs.controller);
  const dbKind = needs.db ?? (needs.controller ? 'sqlite' : undefined);
  const extras: ControllerExtras = typeof needs.controller === 'object' ? needs.controller : {};
  const need = <K extends keyof typeof parts>(key: K, asked: string): NonNullable<(typeof parts)[K]> => {
    const part = parts[key];
    if (!part) throw new Error(`withStack: no ${key} (ask for ${asked}, and use it inside tests or hooks)`);
    return part;
  };
  const startController = async (more: ControllerExtras): Promise<TestController> => {
    const ctl = await startTestController({ temporal: need('temporal', 'temporal'), databaseUrl: need('db', 'db').url, taskQueue, ...more });
    controllers.push(ctl);
    return ctl;
  };

  beforeAll(async () => {
    const cloudOptions = typeof needs.clouds === 'object' ? needs.clouds : {};
    const [temporal, db, clouds] = await Promise.all([
      wantsTemporal ? startTestTemporal() : undefined,
      dbKind === 'sqlite' ? createSqliteTestDb() : dbKind === 'postgresql' ? createPgTestDb() : undefined,
      needs.clouds ? startClouds(cloudOptions) : undefined,
    ]);
    Object.assign(parts, { temporal, db, clouds });
    if (needs.agents) parts.net = new FakeIpsecNetwork();
    if (needs.controller) {
      // One Prisma client per SQLite file and process: the controller's (see openDb).
      await db!.db.$disconnect();
      parts.ctl = await startController(extras);
      if (clouds && needs.accounts !== false) parts.accounts = await registerAccounts(parts.ctl, clouds);
    }
  }, 180_000);

  afterAll(async () => {
    const settle = async (fns: Array<() => unknown>) => {
      await Promise.allSettled(fns.map(async (fn) => fn()));
    };
    await settle(agents.map((a) => () => a.stop()));
    await settle(agents.map((a) => () => removeDir(a.stateDir)));
    for (const fn of closers.reverse()) await settle([fn]);
    await settle(controllers.reverse().map((c) => () => c.close()));
    await settle([() => parts.temporal?.stop(), () => parts.clouds?.stop()]);
    await settle([() => parts.db?.cleanup()]);
  }, 60_000);

  const stack: TestStack = {
    get temporal() {
      return need('temporal', 'temporal or controller');
    },
    get db() {
      return need('db', 'db or controller');
    },
    get clouds() {
      return need('clouds', 'clouds');
    },
    get accounts() {
      return need('accounts', 'clouds and controller');
    },
    get ctl() {
      return need('ctl', 'controller');
    },
    get net() {
      return need('net', 'agents');
    },
    taskQueue,
    api: (method, path, body) => stack.ctl.api(method, path, body),
    async gateway<T extends { id: string }>(name: string, cidrsOrBody: string[] | Record<string, unknown>) {
      const body = Array.isArray(cidrsOrBody) ? { name, provider: 'onprem', cidrs: cidrsOrBody } : { name, ...cidrsOrBody };
      const r = await stack.api<T>('POST', '/api/gateways', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    },
    async agent(g, ip, extra = {}, o = {}) {
      const net = stack.net;
      const a = await startTestAgent({
        controllerUrl: stack.ctl.agentUrl,
        gatewayId: g.id,
        secret: g.agentSecret,
        driver: net.drivers.get(ip) ?? net.driver(ip),
        ...(extra.metadata ? {} : { publicIp: ip }),
        ...extra,
      });
      agents.push(a);
      if (o.waitOnline !== false) await expect.poll(async () => (await stack.api<GatewayBody>('GET', `/api/gateways/${g.id}`)).body.online, { timeout: 10_000 }).toBe(true);
      return a;
    },
    controller: (more = {}) => startController(more),
    onClose(fn) {
      closers.push(fn);
    },
    track(thing) {
      closers.push(async () => {
        await thing.stop();
        const dir = (thing as { stateDir?: unknown }).stateDir;
        if (typeof dir === 'string') await removeDir(dir);
      });
      return thing;
    },
  };
  return stack;
}
