// Builds and runs the controller's roles from a validated config: the REST API (and console) on one
// listener, the agents' WebSocket hub on another, and the Temporal workers. Every client is
// constructed here, once.
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { conflict } from '../lib/errors';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { openDb, type Db } from '../db';
import { liveLinksOf } from '../activities/store-helpers';
import { createApi } from '../api/app';
import { AGENT_LISTEN_BACKLOG, GatewayHub } from '../gateway-hub/hub';
import { dbPresenceStore } from '../gateway-hub/db-presence';
import { createActivities } from '../activities';
import type { Logger } from '../lib/log';
import type { SecretKey } from '../lib/crypto';
import { asLinkId, connName, linkIdFromConn, type GatewayId } from '../protocol/ids';
import { deleteUpdate, gatewayOnlineSignal, linkWorkflowId, reconfigureSignal, tunnelSignal } from '../contracts/link-workflow';
import type { Facts } from '../protocol/messages';
import type { linkWorkflow } from '../workflows';
import type { Role } from './config';
import { providerResolver } from '../cloud/accounts';
import { budgetFor, type BudgetOverrides } from '../cloud/budgets';
import { dbPacer } from '../cloud/pacer';
import type { CloudProvider, CloudTarget } from '../cloud/types';
import { CloudWorkers } from './cloud-workers';
import { listen, type Listener, type TlsFiles } from './listeners';
import { resealLegacySecrets } from './reseal';
import { startKeyRotation } from './key-rotation';
import { EncryptionCodec } from './payload-codec';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig, WorkerInterceptors } from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import { discoverGatewayWorkflow, discoveryWorkflowId, followInstanceWorkflowId, type followInstanceWorkflow } from '../workflows/discovery';

export interface RuntimeOptions {
  roles: Role[];
  /** The REST API's listener (role api): loopback unless the operator opened it with a token. */
  api: { host: string; port: number; allowedHosts?: string[] };
  /** The agents' listener (role hub). */
  agent: { host: string; port: number; preauthPerIp?: number; preauthMax?: number };
  /** Certificate and key: both listeners serve HTTPS/WSS. */
  tls?: TlsFiles;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** mTLS to Temporal. */
  temporalTls?: TemporalTls;
  /** How long start-up waits for Temporal to answer (default 30 s). */
  temporalConnectTimeoutMs?: number;
  /** Encrypts every Temporal payload; separate from secretKey. */
  payloadKey: Buffer;
  temporalUiUrl?: string;
  taskQueue: string;
  instanceId: string;
  secretKey: SecretKey;
  apiToken?: string;
  heartbeatMs: number;
  rpcTimeoutMs: number;
  helloTimeoutMs: number;
  log: Logger;
  /** Pre-built workflow bundle (tests share one across controllers to save ~1.5 s each). */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Per-provider API budgets overriding the defaults (CLOUD_RATE_LIMITS). */
  cloudBudgets?: BudgetOverrides;
  /** How often budget workers look for new accounts/regions. */
  cloudWorkersPollMs?: number;
  /** Cloud API endpoint overrides accepted on accounts, beyond the providers' own domains (CLOUD_ENDPOINT_ALLOW). */
  cloudEndpointAllow: string[];
  /** Rotate each link's PSK after this many days; 0 or unset: only on request. */
  pskRotationDays?: number;
  /** Tests: rotate keys older than this many milliseconds, checking this often (overrides pskRotationDays). */
  pskRotation?: { maxAgeMs: number; checkEveryMs: number };
  /** Builds providers (tests may wrap the real ones, e.g. to count calls). */
  buildProvider?: (t: CloudTarget) => CloudProvider;
}

export interface Runtime {
  /** Base URL of the API listener, when the api role runs. */
  url?: string;
  port?: number;
  /** Base URL of the agents' listener, when the hub role runs. */
  agentUrl?: string;
  agentPort?: number;
  /** Re-reads TLS_CERT/TLS_KEY (SIGHUP). */
  reloadTls(): Promise<void>;
  db: Db;
  hub?: GatewayHub;
  client: Client;
  cloudWorkers?: CloudWorkers;
  close(): Promise<void>;
}

export const hubQueueName = (taskQueue: string, instance: string): string => `${taskQueue}.hub.${instance}`;

export function workflowsPath(): string {
  return path.resolve(__dirname, '..', 'workflows', 'index.ts');
}

/** Loaded into the workflow bundle, the workers and the clients (see workflows/failure-converter.ts). */
export function failureConverterPath(): string {
  return path.resolve(__dirname, '..', 'workflows', 'failure-converter.ts');
}

export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: workflowsPath(), failureConverterPath: failureConverterPath(), logger: quietBundlerLogger });
}

/** What every client and worker of this controller encodes Temporal payloads with. */
export function controllerDataConverter(payloadKey: Buffer): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(payloadKey)], failureConverterPath: failureConverterPath() };
}

export async function startRuntime(o: RuntimeOptions): Promise<Runtime> {
  const log = o.log;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err: unknown) => log.warn('error while stopping', { err }));
  };
  try {
    const db = await openDb(o.databaseUrl);
    closers.push(() => db.$disconnect());
    const resealed = await resealLegacySecrets(db, o.secretKey);
    if (resealed) log.info('re-sealed stored secrets to their rows', { count: resealed });
    const tls = o.temporalTls ? await temporalTlsConfig(o.temporalTls) : undefined;
    const connection = await connectTemporal(o.temporalAddress, o.temporalNamespace, tls, o.temporalConnectTimeoutMs ?? 30_000);
    closers.push(() => connection.close());
    const dataConverter = controllerDataConverter(o.payloadKey);
    const client = new Client({ connection, namespace: o.temporalNamespace, dataConverter });
    /** The same on every worker of this process: sealed payloads, no task tokens in log lines. */
    const workerOptions = { dataConverter, interceptors: workerInterceptors };
    const presenceTtlMs = o.heartbeatMs * 3;

    const signal = async (linkId: string, send: (h: ReturnType<typeof client.workflow.getHandle>) => Promise<void>) => {
      try {
        await send(client.workflow.getHandle(linkWorkflowId(linkId)));
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) log.warn('could not signal link workflow', { linkId, err });
      }
    };

    let hub: GatewayHub | undefined;
    if (o.roles.includes('hub')) {
      hub = new GatewayHub({
        instanceId: o.instanceId,
        store: dbPresenceStore(db),
        log: log.child({ component: 'hub' }),
        heartbeatMs: o.heartbeatMs,
        rpcTimeoutMs: o.rpcTimeoutMs,
        helloTimeoutMs: o.helloTimeoutMs,
        preauthPerIp: o.agent.preauthPerIp,
        preauthMax: o.agent.preauthMax,
        onOnline: (gatewayId, info) => void onGatewayOnline(gatewayId, info.facts),
        onFacts: (gatewayId, facts) => void onGatewayFacts(gatewayId, facts),
        onTunnel: (gatewayId, report) => void inOrder(`${gatewayId}|${report.name}`, () => onTunnel(gatewayId, report.name, report.up, report.reason)),
      });
    }

    /**
     * Tunnel reports of one link from one gateway are handled one after another: a restart sends
     * "down" then "up" within milliseconds, and the workflow must see them in that order.
     */
    const chains = new Map<string, Promise<void>>();
    function inOrder(key: string, task: () => Promise<void>): void {
      const next = (chains.get(key) ?? Promise.resolve()).then(task).catch((err: unknown) => log.warn('tunnel report not delivered', { key, err }));
      chains.set(key, next);
      void next.finally(() => {
        if (chains.get(key) === next) chains.delete(key);
      });
    }

    /**
     * A cloud gateway's agent reports the instance it runs on: when that is no longer the
     * discovered instance (the VPN container moved, the EIP went to a standby), routes must point
     * at the new one, but only once the cloud confirms it (followInstanceWorkflow re-discovers the
     * gateway by its public IP, then makes its links re-plan): the agent alone is not trusted.
     */
    async function followInstance(gatewayId: GatewayId, facts: Facts): Promise<void> {
      const reported = facts.cloud;
      if (!reported) return;
      const g = await db.gateway.findUnique({ where: { id: gatewayId }, select: { provider: true, instanceId: true, accountId: true, region: true, publicIp: true } });
      if (!g || g.provider !== reported.provider || !g.instanceId || g.instanceId === reported.instanceId || !g.accountId || !g.region) return;
      // The operator's address, never the one the agent reports: re-discovering by an address the
      // agent chose would let it name any instance with a public IP in the VPC.
      const publicIp = g.publicIp;
      if (!publicIp) return;
      log.warn('gateway reports another instance; asking the cloud before its routes follow', { gatewayId, from: g.instanceId, to: reported.instanceId });
      await client.workflow
        .start<typeof followInstanceWorkflow>('followInstanceWorkflow', {
          taskQueue: o.taskQueue,
          workflowId: followInstanceWorkflowId(gatewayId),
          args: [{ gatewayId, ref: { provider: reported.provider, accountId: g.accountId, region: g.region }, publicIp, reportedInstanceId: reported.instanceId }],
        })
        .catch((err: unknown) => {
          // One check at a time per gateway; the running one re-plans the links when it follows.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        });
    }

    /** The gateway's live links, after checking the instance it reports (both hub callbacks need it). */
    async function linksAfterFacts(gatewayId: GatewayId, facts: Facts): Promise<Array<{ id: string }>> {
      await followInstance(gatewayId, facts).catch((err: unknown) => log.warn('could not follow the reported instance', { gatewayId, err }));
      return liveLinksOf(db, [gatewayId]);
    }

    /** A gateway (re)connected: drop links it should no longer have, and wake its link workflows. */
    async function onGatewayOnline(gatewayId: GatewayId, facts: Facts): Promise<void> {
      const links = await linksAfterFacts(gatewayId, facts);
      await hub!
        .call(gatewayId, 'reconcile', { keep: links.map((l) => connName(asLinkId(l.id))) })
        .then((r) => r.removed.length && log.info('agent dropped links the controller no longer has', { gatewayId, removed: r.removed }))
        .catch((err: unknown) => log.warn('reconcile failed', { gatewayId, err: (err as Error).message }));
      await Promise.all(links.map((l) => signal(l.id, (h) => h.signal(gatewayOnlineSignal, { gatewayId }))));
    }

    /** New facts on a live connection (e.g. a new public address): the gateway's links re-plan. */
    async function onGatewayFacts(gatewayId: GatewayId, facts: Facts): Promise<void> {
      const links = await linksAfterFacts(gatewayId, facts);
      await Promise.all(links.map((l) => signal(l.id, (h) => h.signal(reconfigureSignal, { reason: 'endpoint', gatewayId }))));
    }

    async function onTunnel(gatewayId: GatewayId, name: string, up: boolean, reason?: string): Promise<void> {
      const linkId = linkIdFromConn(name);
      if (!linkId) return;
      // One write when the gateway is side a, two when it is b; none lands on a deleted link or on
      // a link the gateway is not part of (a report about someone else's link).
      const live = { id: linkId, deletedAt: null };
      const recorded =
        (await db.link.updateMany({ where: { ...live, aId: gatewayId }, data: { aTunnelUp: up } })).count ||
        (await db.link.updateMany({ where: { ...live, bId: gatewayId }, data: { bTunnelUp: up } })).count;
      if (!recorded) return;
      await signal(linkId, (h) => h.signal(tunnelSignal, { gatewayId, up, ...(reason ? { reason } : {}) }));
    }

    /** Tells a link's workflow that what it carries changed in the database (CIDRs, its key, a gateway's address). */
    const reconfigureLink = async (workflowId: string, reason: 'cidrs' | 'key' | 'endpoint' = 'cidrs'): Promise<void> => {
      await client.workflow.getHandle(workflowId).signal(reconfigureSignal, { reason });
    };

    let cloudWorkers: CloudWorkers | undefined;
    const listeners: Listener[] = [];
    let apiListener: Listener | undefined;
    let agentListener: Listener | undefined;
    if (o.roles.includes('api')) {
      const app = createApi({
        db,
        log: log.child({ component: 'api' }),
        secretKey: o.secretKey,
        apiToken: o.apiToken,
        ...(o.api.allowedHosts ? { allowedHosts: o.api.allowedHosts } : {}),
        cloudEndpointAllow: o.cloudEndpointAllow,
        links: {
          start: async (linkId, workflowId) => {
            await client.workflow.start<typeof linkWorkflow>('linkWorkflow', { taskQueue: o.taskQueue, workflowId, args: [{ linkId }] });
          },
          requestDelete: async (workflowId) => {
            try {
              await client.workflow.getHandle(workflowId).executeUpdate(deleteUpdate);
            } catch (err) {
              // The workflow's validator refused: a delete is already under way.
              if (err instanceof WorkflowUpdateFailedError) throw conflict(`${workflowId} is already being deleted`);
              throw err;
            }
          },
          reconfigure: reconfigureLink,
          startDiscovery: async (gatewayId, ref, publicIp) => {
            await client.workflow.start<typeof discoverGatewayWorkflow>('discoverGatewayWorkflow', {
              taskQueue: o.taskQueue,
              workflowId: discoveryWorkflowId(gatewayId),
              args: [{ gatewayId, ref, publicIp }],
            });
            // Serve the new budget queues right away when this process runs a worker.
            void cloudWorkers?.refresh().catch(() => undefined);
          },
        },
        view: () => ({ now: new Date(), presenceTtlMs, temporalUiUrl: o.temporalUiUrl, temporalNamespace: o.temporalNamespace }),
      });
      apiListener = await listen({ host: o.api.host, port: o.api.port, handler: app, ...(o.tls ? { tls: o.tls } : {}) });
      listeners.push(apiListener);
      closers.push(() => apiListener!.close());
    }
    if (hub) {
      const h = hub;
      agentListener = await listen({
        host: o.agent.host,
        port: o.agent.port,
        handler: (req, res) => h.handleHttp(req, res),
        ...(o.tls ? { tls: o.tls } : {}),
        // A deep accept queue: after a controller restart every agent dials at once (bench:hub).
        backlog: AGENT_LISTEN_BACKLOG,
        prepare: (server) => h.attach(server),
      });
      listeners.push(agentListener);
      closers.push(() => agentListener!.close());
      // Closers run in reverse: the hub closes the agents' sockets first (server.close() waits for
      // upgraded connections, which closeAllConnections() does not end).
      closers.push(() => h.close());
    }

    const needsWorker = o.roles.includes('worker') || hub;
    if (needsWorker) {
      const nativeConnection = await NativeConnection.connect({ address: o.temporalAddress, ...(tls ? { tls } : {}) });
      closers.push(() => nativeConnection.close());
      const activities = createActivities({
        db,
        hub,
        secretKey: o.secretKey,
        log: log.child({ component: 'activities' }),
        clock: () => new Date(),
        hubQueue: (instance) => hubQueueName(o.taskQueue, instance),
        presenceTtlMs,
        providerFor: providerResolver(db, o.secretKey, { endpointAllow: o.cloudEndpointAllow, ...(o.buildProvider ? { build: o.buildProvider } : {}) }),
        paceCloudCall: (() => {
          const pacer = dbPacer(db, o.databaseUrl);
          return async (ref, api, slots) => {
            await pacer({ provider: ref.provider, accountId: ref.accountId, region: ref.region, api }, budgetFor(ref.provider, api, o.cloudBudgets ?? {}), slots);
          };
        })(),
        temporal: () => client,
      });
      const workers: Worker[] = [];
      if (o.roles.includes('worker')) {
        const bundle = o.workflowBundle ?? (await bundleWorkflows());
        // The sticky-queue timeout stays at its default (10 s): shorter, a busy worker's workflow
        // tasks spill to other workers that must replay the whole history (measured: bench:routes
        // slower by ~15 %), which costs more than a killed controller's links resuming sooner.
        workers.push(await Worker.create({ connection: nativeConnection, namespace: o.temporalNamespace, taskQueue: o.taskQueue, workflowBundle: bundle, activities, ...workerOptions }));
      }
      if (o.roles.includes('worker')) {
        cloudWorkers = new CloudWorkers({
          db,
          connection: nativeConnection,
          namespace: o.temporalNamespace,
          baseQueue: o.taskQueue,
          activities,
          workerOptions,
          budgets: o.cloudBudgets ?? {},
          log: log.child({ component: 'cloud-workers' }),
          ...(o.cloudWorkersPollMs ? { pollMs: o.cloudWorkersPollMs } : {}),
        });
        await cloudWorkers.start();
        closers.push(() => cloudWorkers!.stop());
      }
      const rotation = o.pskRotation ?? (o.pskRotationDays ? { maxAgeMs: o.pskRotationDays * 86_400_000 } : undefined);
      if (o.roles.includes('worker') && rotation) {
        const rotator = startKeyRotation({
          db,
          secretKey: o.secretKey,
          links: { reconfigure: reconfigureLink },
          log: log.child({ component: 'key-rotation' }),
          clock: () => new Date(),
          ...rotation,
        });
        closers.push(async () => rotator.stop());
      }
      if (hub) {
        // Agent calls for sockets held here arrive on this instance's own queue.
        workers.push(await Worker.create({ connection: nativeConnection, namespace: o.temporalNamespace, taskQueue: hubQueueName(o.taskQueue, o.instanceId), activities, ...workerOptions }));
      }
      const running = workers.map((w) => w.run());
      closers.push(async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(running);
      });
      void Promise.all(running).catch((err: unknown) => log.error('worker stopped with an error', { err }));
    }

    return {
      db,
      hub,
      client,
      close,
      reloadTls: async () => {
        for (const l of listeners) await l.reloadTls();
      },
      ...(cloudWorkers ? { cloudWorkers } : {}),
      ...(apiListener ? { port: apiListener.port, url: apiListener.url } : {}),
      ...(agentListener ? { agentPort: agentListener.port, agentUrl: agentListener.url } : {}),
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Connects and waits until the namespace answers (a dev server opens its port before it is ready). */
async function connectTemporal(address: string, namespace: string, tls: TLSConfig | undefined, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Connection.connect({ address, connectTimeout: 5000, ...(tls ? { tls } : {}) });
      try {
        await c.workflowService.describeNamespace({ namespace });
        return c;
      } catch (err) {
        await c.close();
        throw err;
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} (namespace ${namespace}) is not reachable: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export interface TemporalTls {
  /** Client certificate and key (PEM files) for mTLS. */
  certFile?: string;
  keyFile?: string;
  /** CA bundle that signed the server's certificate (PEM file); system CAs when unset. */
  caFile?: string;
  serverName?: string;
}

async function temporalTlsConfig(t: TemporalTls): Promise<TLSConfig> {
  const [crt, key, ca] = await Promise.all([t.certFile, t.keyFile, t.caFile].map((f) => (f ? readFile(f) : Promise.resolve(undefined))));
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(t.serverName ? { serverNameOverride: t.serverName } : {}),
  };
}

/** Activity log lines carry the task token by default; it lets its holder complete the activity. */
const workerInterceptors: WorkerInterceptors = {
  activity: [
    () => ({
      outbound: {
        getLogAttributes: (input, next) => {
          const { taskToken: _token, ...rest } = next(input);
          return rest;
        },
      },
    }),
  ],
};

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => process.stderr.write(`${m}\n`),
  error: (m: string) => process.stderr.write(`${m}\n`),
};
