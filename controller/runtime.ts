// Builds and runs the controller's roles from a validated config: the REST API (and console) on one
// listener, the agents' WebSocket hub on another, and the Temporal workers. Every client is
// constructed here, once.
import path from 'node:path';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { openDb, type Db } from '../db';
import { ChangeFeed, createStore, type PendingIntent, type Store } from '../store';
import { createApi } from '../api/app';
import { controllerHealth, withHealthz } from '../api/health';
import { pruneAudit } from '../api/audit';
import { AGENT_LISTEN_BACKLOG, GatewayHub } from '../gateway-hub/hub';
import { batchedPresenceStore } from '../gateway-hub/db-presence';
import { createActivities } from '../activities';
import type { Logger } from '../lib/log';
import type { SecretKey } from '../lib/crypto';
import { asGatewayId, asLinkId, connName, linkIdFromConn, type GatewayId } from '../protocol/ids';
import { deleteSignal, gatewayOnlineSignal, linkWorkflowId, probeSignal, reconfigureSignal, tunnelSignal } from '../contracts/link-workflow';
import { HealthCollector } from '../gateway-hub/health';
import type { Facts } from '../protocol/messages';
import type { linkWorkflow } from '../workflows';
import type { Role } from './config';
import { providerResolver } from '../cloud/accounts';
import { budgetFor, type BudgetOverrides } from '../cloud/budgets';
import { dbPacer } from '../cloud/pacer';
import { ControllerMetrics } from '../lib/metrics';
import { exposeMetrics, linkStateCounts, measuredPacer, metricsListenerHandler, recentLinkEvents } from './metrics';
import type { CloudProvider, CloudTarget } from '../cloud/types';
import { CloudWorkers } from './cloud-workers';
import { listen, type Listener, type TlsFiles } from './listeners';
import { resealLegacySecrets } from './reseal';
import { startKeyRotation } from './key-rotation';
import { startIntentSweep } from './intent-sweep';
import { requestIdActivityInterceptor, requestIdClientInterceptor, workflowInterceptorsPath } from './request-interceptors';
import { EncryptionCodec } from './payload-codec';
import { TunnelEcho } from '../gateway-hub/tunnel-echo';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig, WorkerInterceptors } from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { discoverGatewayWorkflow, discoveryWorkflowId, followInstanceWorkflowId, type followInstanceWorkflow } from '../workflows/discovery';

export interface RuntimeOptions {
  roles: Role[];
  /** The REST API's listener (role api): loopback unless the operator opened it with a token. */
  api: { host: string; port: number; allowedHosts?: string[] };
  /** The agents' listener (role hub). */
  agent: { host: string; port: number; preauthPerIp?: number; preauthMax?: number; publicUrl?: string };
  /** A listener serving only GET /metrics, without a token (METRICS_PORT); /metrics is on the API listener either way. */
  metricsListener?: { host: string; port: number };
  /** Certificate and key: both listeners serve HTTPS/WSS. */
  tls?: TlsFiles;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** mTLS to Temporal. */
  temporalTls?: TemporalTls;
  /** How long start-up waits for Temporal to answer (default 30 s). */
  temporalConnectTimeoutMs?: number;
  /** gRPC compression to Temporal (default none: payloads are sealed, so gzip only spends CPU on both ends). */
  temporalCompression?: TemporalCompression;
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
  /** A bundle file made at build time (WORKFLOW_BUNDLE), used when workflowBundle is not given. */
  workflowBundlePath?: string;
  /** Per-provider API budgets overriding the defaults (CLOUD_RATE_LIMITS). */
  cloudBudgets?: BudgetOverrides;
  /** How often budget workers look for new accounts/regions. */
  cloudWorkersPollMs?: number;
  /** Cloud API endpoint overrides accepted on accounts, beyond the providers' own domains (CLOUD_ENDPOINT_ALLOW). */
  cloudEndpointAllow: string[];
  /** Rotate each link's PSK after this many days; 0 or unset: only on request. */
  pskRotationDays?: number;
  /** Audit records older than this many days are deleted, at start and hourly (default 365). */
  auditRetentionDays?: number;
  /** Tests: rotate keys older than this many milliseconds, checking this often (overrides pskRotationDays). */
  pskRotation?: { maxAgeMs: number; checkEveryMs: number };
  /** Builds providers (tests may wrap the real ones, e.g. to count calls). */
  buildProvider?: (target: CloudTarget) => CloudProvider;
  /** Tests: how often and after how long the intent sweep re-sends lost signals (controller/intent-sweep.ts). */
  intentSweep?: { everyMs?: number; graceMs?: number };
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
  /** The database handle (tests and tools); the controller itself goes through `store`. */
  db: Db;
  store: Store;
  hub?: GatewayHub;
  /** The hub's data-plane health collector (role hub). */
  health?: HealthCollector;
  client: Client;
  cloudWorkers?: CloudWorkers;
  /** This runtime's Prometheus families (lib/metrics.ts). */
  metrics: ControllerMetrics;
  /** Base URL of the metrics listener, when METRICS_PORT is set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

export const hubQueueName = (taskQueue: string, instance: string): string => `${taskQueue}.hub.${instance}`;

/** A killed worker's links resume within about this (plus a workflow task) on another worker. */
export const STICKY_SCHEDULE_TO_START = '2s';

/** How long a signal for a recorded intent may take before it is left to the intent sweep. */
const INTENT_SIGNAL_DEADLINE_MS = 5000;

export function workflowsPath(): string {
  return path.resolve(__dirname, '..', 'workflows', 'index.ts');
}

/** Loaded into the workflow bundle, the workers and the clients (see workflows/failure-converter.ts). */
export function failureConverterPath(): string {
  // The controller image runs compiled JavaScript (deploy/controller/Containerfile) and ships the
  // converter compiled next to where its source would be; Node cannot require the .ts file itself.
  const compiled = path.resolve(__dirname, '..', 'workflows', 'failure-converter.js');
  return existsSync(compiled) ? compiled : path.resolve(__dirname, '..', 'workflows', 'failure-converter.ts');
}

export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: workflowsPath(), workflowInterceptorModules: [workflowInterceptorsPath()], failureConverterPath: failureConverterPath(), logger: quietBundlerLogger });
}

/** What every client and worker of this controller encodes Temporal payloads with. */
export function controllerDataConverter(payloadKey: Buffer): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(payloadKey)], failureConverterPath: failureConverterPath() };
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const log = options.log;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((err: unknown) => log.warn('error while stopping', { err }));
  };
  try {
    const db = await openDb(options.databaseUrl);
    closers.push(() => db.$disconnect());
    const store = createStore(db);
    const metrics = new ControllerMetrics({ linkStates: linkStateCounts(db, log.child({ component: 'metrics' })) });
    const resealed = await resealLegacySecrets(store, options.secretKey);
    if (resealed) log.info('re-sealed stored secrets to their rows', { count: resealed });
    const tls = options.temporalTls ? await temporalTlsConfig(options.temporalTls) : undefined;
    // One connection for the client and every worker of this process, served by the SDK's Rust
    // core (the client's calls do not go through a second, JavaScript gRPC stack), which lets a
    // link's workflow start eagerly on this process's worker (see links.start below).
    const connection = await connectTemporal(options.temporalAddress, options.temporalNamespace, tls, options.temporalConnectTimeoutMs ?? 30_000, options.temporalCompression ?? 'none');
    closers.push(() => connection.close());
    const dataConverter = controllerDataConverter(options.payloadKey);
    const client = new Client({ connection, namespace: options.temporalNamespace, dataConverter, interceptors: { workflow: [requestIdClientInterceptor] } });
    // GET /healthz on every listener this process has (API, agents, metrics): one readiness probe per replica whatever its ROLES.
    const readiness = controllerHealth({ db, temporal: connection, namespace: options.temporalNamespace, log: log.child({ component: 'health' }) });
    /**
     * The same on every worker of this process: sealed payloads, no task tokens in log lines, and
     * a short sticky schedule-to-start timeout. A link's workflow task goes first to the worker
     * that ran its last one; when that worker was killed, Temporal waits this long before giving
     * the task to any worker (the default, 10 s, showed as WORKFLOW_TASK_TIMED_OUT in every killed
     * controller's links). The cost: a worker too busy to start a task within it hands the task
     * on, and the new worker replays the history (an earlier bench:routes run measured ~15 %
     * slower with a short timeout).
     */
    const workerOptions = { dataConverter, interceptors: workerInterceptors, stickyQueueScheduleToStartTimeout: STICKY_SCHEDULE_TO_START };
    const presenceTtlMs = options.heartbeatMs * 3;
    const tunnelEcho = new TunnelEcho();

    const signal = async (linkId: string, send: (handle: ReturnType<typeof client.workflow.getHandle>) => Promise<void>) => {
      try {
        await send(client.workflow.getHandle(linkWorkflowId(linkId)));
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) log.warn('could not signal link workflow', { linkId, err });
      }
    };

    // One reader of the change log per process: the console's event streams and the hub's
    // revocations (a gateway deleted, a secret rotated, by any controller) both follow it.
    let changes: ChangeFeed | undefined;
    if (options.roles.includes('api') || options.roles.includes('hub')) {
      changes = await ChangeFeed.start({ url: options.databaseUrl, db, log: log.child({ component: 'changes' }) });
      const feed = changes;
      closers.push(() => feed.close());
    }

    let hub: GatewayHub | undefined;
    let health: HealthCollector | undefined;
    if (options.roles.includes('hub')) {
      // Data-plane health frames: checked against the gateway's links, written once per interval,
      // fed to /metrics, and an end's probe verdict signalled to the link's workflow.
      const collector = new HealthCollector({
        linksOf: (gatewayId) => store.links.liveWithEndsOf(gatewayId),
        store: store.health,
        log: log.child({ component: 'health' }),
        metrics: metrics.linkHealth,
        sendTargets: (gatewayId, targets) => void hub?.sendProbeTargets(gatewayId, targets),
        onVerdict: ({ linkId, gatewayId, failing, reason }) =>
          inOrder(`${gatewayId}|probe|${linkId}`, () => signal(linkId, (handle) => handle.signal(probeSignal, { gatewayId, failing, ...(reason ? { reason } : {}) }))),
      });
      health = collector;
      closers.push(() => collector.close());
      hub = new GatewayHub({
        instanceId: options.instanceId,
        store: batchedPresenceStore(store.presence),
        log: log.child({ component: 'hub' }),
        heartbeatMs: options.heartbeatMs,
        rpcTimeoutMs: options.rpcTimeoutMs,
        helloTimeoutMs: options.helloTimeoutMs,
        preauthPerIp: options.agent.preauthPerIp,
        preauthMax: options.agent.preauthMax,
        metrics: metrics.hub,
        onOnline: (gatewayId, info) => void onGatewayOnline(gatewayId, info.facts),
        onFacts: (gatewayId, facts) => void onGatewayFacts(gatewayId, facts),
        onHealth: (gatewayId, frame) => void collector.accept(gatewayId, frame).catch((err: unknown) => log.warn('health report not taken', { gatewayId, err })),
        onTunnel: (gatewayId, report) => void inOrder(`${gatewayId}|${report.name}`, () => onTunnel(gatewayId, report.name, report.up, report.reason)),
      });
      const h = hub;
      changes?.subscribe({
        batch: ({ rows }) => {
          const changed = [...new Set(rows.filter((row) => row.kind === 'gateway').map((row) => asGatewayId(row.entityId)))];
          if (changed.length > 0) h.recheck(changed).catch((err: unknown) => log.warn('could not recheck agents of changed gateways', { err }));
          // An edited or deleted link leaves the health collector's cache at once (its ends, networks and state are read again).
          const links = [...new Set(rows.filter((row) => row.kind === 'link').map((row) => row.entityId))];
          if (links.length > 0) collector.linksChanged(links);
        },
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
      const gateway = await store.gateways.get(gatewayId);
      if (!gateway || gateway.provider !== reported.provider || !gateway.instanceId || gateway.instanceId === reported.instanceId || !gateway.accountId || !gateway.region) return;
      // The operator's address, never the one the agent reports: re-discovering by an address the
      // agent chose would let it name any instance with a public IP in the VPC.
      const publicIp = gateway.publicIp;
      if (!publicIp) return;
      const { accountId, region } = gateway;
      log.warn('gateway reports another instance; asking the cloud before its routes follow', { gatewayId, from: gateway.instanceId, to: reported.instanceId });
      await client.workflow
        .start<typeof followInstanceWorkflow>('followInstanceWorkflow', {
          taskQueue: options.taskQueue,
          workflowId: followInstanceWorkflowId(gatewayId),
          args: [{ gatewayId, ref: { provider: reported.provider, accountId, region }, publicIp, reportedInstanceId: reported.instanceId }],
        })
        .catch((err: unknown) => {
          // One check at a time per gateway; the running one re-plans the links when it follows.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        });
    }

    /** The gateway's live links, after checking the instance it reports (both hub callbacks need it). */
    async function linksAfterFacts(gatewayId: GatewayId, facts: Facts): Promise<Array<{ id: string }>> {
      await followInstance(gatewayId, facts).catch((err: unknown) => log.warn('could not follow the reported instance', { gatewayId, err }));
      return store.links.liveOf([gatewayId]);
    }

    /** A gateway (re)connected: drop links it should no longer have, and wake its link workflows. */
    async function onGatewayOnline(gatewayId: GatewayId, facts: Facts): Promise<void> {
      const links = await linksAfterFacts(gatewayId, facts);
      await hub!
        .call(gatewayId, 'reconcile', { keep: links.map((link) => connName(asLinkId(link.id))) })
        .then((reply) => reply.removed.length && log.info('agent dropped links the controller no longer has', { gatewayId, removed: reply.removed }))
        .catch((err: unknown) => log.warn('reconcile failed', { gatewayId, err: (err as Error).message }));
      await Promise.all(links.map((link) => signal(link.id, (handle) => handle.signal(gatewayOnlineSignal, { gatewayId }))));
    }

    /** New facts on a live connection (e.g. a new public address): the gateway's links re-plan. */
    async function onGatewayFacts(gatewayId: GatewayId, facts: Facts): Promise<void> {
      const links = await linksAfterFacts(gatewayId, facts);
      await Promise.all(links.map((link) => signal(link.id, (handle) => handle.signal(reconfigureSignal, { reason: 'endpoint', gatewayId }))));
    }

    async function onTunnel(gatewayId: GatewayId, name: string, up: boolean, reason?: string): Promise<void> {
      const linkId = linkIdFromConn(name);
      if (!linkId) return;
      // Nothing lands on a deleted link or on a link the gateway is not part of (a report about someone else's link).
      if (!(await store.links.setTunnelUp(linkId, gatewayId, up, new Date()))) return;
      // The initiating end's first report after `initiate` answered: its workflow knows already.
      if (tunnelEcho.absorbs(linkId, gatewayId, up)) return;
      await signal(linkId, (handle) => handle.signal(tunnelSignal, { gatewayId, up, ...(reason ? { reason } : {}) }));
    }

    /** Tells a link's workflow that what it carries changed in the database (CIDRs, its key, a gateway's address). */
    const reconfigureLink = async (workflowId: string, reason: 'cidrs' | 'key' | 'endpoint' = 'cidrs'): Promise<void> => {
      await client.workflow.getHandle(workflowId).signal(reconfigureSignal, { reason });
      // A rotation stands once its signal is through (rotateLinkKey undoes it otherwise).
      if (reason === 'key') metrics.operations.started.key_rotation.inc();
    };

    /**
     * A DELETE the API recorded: the operation starts at the first request only (a repeat is
     * accepted and signalled again). The store keeps the first request's time, and the write of a
     * repeat moves updatedAt past it.
     */
    const countDeleteRequest = async (workflowId: string): Promise<void> => {
      const link = await store.links.get(workflowId.replace(/^link-/, ''));
      if (link?.deleteRequestedAt && link.deleteRequestedAt.getTime() === link.updatedAt.getTime()) metrics.operations.started.link_delete.inc();
    };

    /**
     * Signals for recorded intents (the API's DELETE and PATCH, the intent sweep): bounded, since
     * a request must not wait on an unreachable Temporal and nothing is lost when one fails (the
     * intent is in the database, and the sweep sends it again).
     */
    const signalsInFlight = new Set<Promise<void>>();
    const signalIntent = (workflowId: string, intent: PendingIntent['intent']): Promise<void> => {
      const sent = client.withDeadline(Date.now() + INTENT_SIGNAL_DEADLINE_MS, () =>
        intent === 'delete' ? client.workflow.getHandle(workflowId).signal(deleteSignal) : client.workflow.getHandle(workflowId).signal(reconfigureSignal, { reason: 'cidrs' }),
      );
      signalsInFlight.add(sent);
      void sent.catch(() => undefined).finally(() => signalsInFlight.delete(sent));
      return sent;
    };
    // A request answers before its signal is through (the API waits 25 ms at most): on stop, the
    // signals still retrying finish (within their deadline) before the connection closes under them,
    // where the client's retry timer would throw on the closed channel.
    closers.push(async () => {
      await Promise.allSettled([...signalsInFlight]);
    });

    let cloudWorkers: CloudWorkers | undefined;
    const listeners: Listener[] = [];
    let apiListener: Listener | undefined;
    let agentListener: Listener | undefined;
    if (options.roles.includes('api')) {
      /** The URL agents dial, for the answers that hand out an agent secret. */
      const agentUrlFor = (requestHostname: string): string | undefined => {
        if (options.agent.publicUrl) return options.agent.publicUrl;
        if (!agentListener) return undefined;
        // Listening on every address: the address this API was reached by is the best guess.
        const host = options.agent.host === '0.0.0.0' || options.agent.host === '::' ? requestHostname.replace(/^\[(.*)\]$/, '$1') : options.agent.host;
        return `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${agentListener.port}`;
      };
      const app = createApi({
        db,
        agentUrl: agentUrlFor,
        log: log.child({ component: 'api' }),
        secretKey: options.secretKey,
        apiToken: options.apiToken,
        ...(options.api.allowedHosts ? { allowedHosts: options.api.allowedHosts } : {}),
        cloudEndpointAllow: options.cloudEndpointAllow,
        links: {
          start: async (linkId, workflowId) => {
            // Eager start: where this process runs the link workers, the server hands the first
            // workflow task back in the start's reply instead of queueing it for a poller.
            await client.workflow.start<typeof linkWorkflow>('linkWorkflow', { taskQueue: options.taskQueue, workflowId, args: [{ linkId }], requestEagerStart: options.roles.includes('worker') });
            metrics.operations.started.link_create.inc();
          },
          requestDelete: (workflowId) => {
            void countDeleteRequest(workflowId).catch((err: unknown) => log.debug('metrics: could not read a deleted link', { workflowId, err }));
            return signalIntent(workflowId, 'delete');
          },
          reconfigure: (workflowId, reason) => {
            if (reason !== undefined && reason !== 'cidrs') return reconfigureLink(workflowId, reason);
            // The change is recorded before this call: it has started whether or not the signal gets through now.
            metrics.operations.started.cidr_change.inc();
            return signalIntent(workflowId, 'change');
          },
          startDiscovery: async (gatewayId, ref, publicIp) => {
            await client.workflow.start<typeof discoverGatewayWorkflow>('discoverGatewayWorkflow', {
              taskQueue: options.taskQueue,
              workflowId: discoveryWorkflowId(gatewayId),
              args: [{ gatewayId, ref, publicIp }],
            });
            // Serve the new budget queues right away when this process runs a worker.
            void cloudWorkers?.refresh().catch(() => undefined);
          },
          stopDiscovery: async (gatewayId) => {
            await Promise.all(
              [discoveryWorkflowId(gatewayId), followInstanceWorkflowId(gatewayId)].map((workflowId) =>
                client.workflow
                  .getHandle(workflowId)
                  .terminate('gateway deleted')
                  .catch((err: unknown) => {
                    if (!(err instanceof WorkflowNotFoundError)) throw err;
                  }),
              ),
            );
          },
        },
        ...(changes ? { changes } : {}),
        view: () => ({ now: new Date(), presenceTtlMs, temporalUiUrl: options.temporalUiUrl, temporalNamespace: options.temporalNamespace }),
        health: readiness,
      });
      exposeMetrics(app, metrics);
      const prune = () =>
        void pruneAudit(store.audit, options.auditRetentionDays ?? 365).catch((err: unknown) => log.warn('could not prune the audit trail', { err }));
      prune();
      const pruning = setInterval(prune, 3_600_000);
      pruning.unref();
      closers.push(async () => clearInterval(pruning));
      apiListener = await listen({ host: options.api.host, port: options.api.port, handler: app, ...(options.tls ? { tls: options.tls } : {}) });
      listeners.push(apiListener);
      closers.push(() => apiListener!.close());
    }
    if (hub) {
      const h = hub;
      agentListener = await listen({
        host: options.agent.host,
        port: options.agent.port,
        handler: withHealthz(readiness, (req, res) => h.handleHttp(req, res)),
        ...(options.tls ? { tls: options.tls } : {}),
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

    const needsWorker = options.roles.includes('worker') || hub;
    if (needsWorker) {
      const activities = createActivities({
        store,
        hub,
        tunnelEcho,
        secretKey: options.secretKey,
        log: log.child({ component: 'activities' }),
        clock: () => new Date(),
        hubQueue: (instance) => hubQueueName(options.taskQueue, instance),
        presenceTtlMs,
        providerFor: providerResolver(store, options.secretKey, { endpointAllow: options.cloudEndpointAllow, ...(options.buildProvider ? { build: options.buildProvider } : {}) }),
        paceCloudCall: (() => {
          const pacer = measuredPacer(dbPacer(store.budgets), metrics.cloud);
          return async (ref, api, slots) => {
            await pacer({ provider: ref.provider, accountId: ref.accountId, region: ref.region, api }, budgetFor(ref.provider, api, options.cloudBudgets ?? {}), slots);
          };
        })(),
        temporal: () => client,
        metrics: { cloud: metrics.cloud, operations: { metrics: metrics.operations, recentEvents: recentLinkEvents(db) } },
      });
      const workers: Worker[] = [];
      if (options.roles.includes('worker')) {
        // WORKFLOW_BUNDLE: a bundle made at image build (scripts/images.sh), so a
        // container neither needs the workflows' TypeScript nor spends ~1.5 s bundling at every start.
        const bundle = options.workflowBundle ?? (options.workflowBundlePath ? { codePath: options.workflowBundlePath } : await bundleWorkflows());
        workers.push(await Worker.create({ connection, namespace: options.temporalNamespace, taskQueue: options.taskQueue, workflowBundle: bundle, activities, ...workerOptions }));
      }
      if (options.roles.includes('worker')) {
        cloudWorkers = new CloudWorkers({
          store,
          connection,
          namespace: options.temporalNamespace,
          baseQueue: options.taskQueue,
          activities,
          workerOptions,
          budgets: options.cloudBudgets ?? {},
          log: log.child({ component: 'cloud-workers' }),
          ...(options.cloudWorkersPollMs ? { pollMs: options.cloudWorkersPollMs } : {}),
        });
        await cloudWorkers.start();
        closers.push(() => cloudWorkers!.stop());
      }
      const rotation = options.pskRotation ?? (options.pskRotationDays ? { maxAgeMs: options.pskRotationDays * 86_400_000 } : undefined);
      if (options.roles.includes('worker') && rotation) {
        const rotator = startKeyRotation({
          store,
          secretKey: options.secretKey,
          links: { reconfigure: reconfigureLink },
          log: log.child({ component: 'key-rotation' }),
          clock: () => new Date(),
          ...rotation,
        });
        closers.push(async () => rotator.stop());
      }
      if (hub) {
        // Agent calls for sockets held here arrive on this instance's own queue.
        workers.push(await Worker.create({ connection, namespace: options.temporalNamespace, taskQueue: hubQueueName(options.taskQueue, options.instanceId), activities, ...workerOptions }));
      }
      const running = workers.map((worker) => worker.run());
      closers.push(async () => {
        for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
        await Promise.allSettled(running);
      });
      void Promise.all(running).catch((err: unknown) => log.error('worker stopped with an error', { err }));
    }

    if (options.roles.includes('api') || options.roles.includes('worker')) {
      const intents = startIntentSweep({
        store,
        signal: (intent) => signalIntent(intent.workflowId, intent.intent),
        log: log.child({ component: 'intent-sweep' }),
        clock: () => new Date(),
        ...options.intentSweep,
      });
      closers.push(() => intents.stop());
    }

    // Closers run in reverse: the event streams end cleanly before the API listener closes under them.
    if (changes) {
      const feed = changes;
      closers.push(() => feed.close());
    }

    let metricsListener: Listener | undefined;
    if (options.metricsListener) {
      metricsListener = await listen({ host: options.metricsListener.host, port: options.metricsListener.port, handler: withHealthz(readiness, metricsListenerHandler(metrics, log)) });
      const l = metricsListener;
      closers.push(() => l.close());
    }

    return {
      db,
      store,
      hub,
      ...(health ? { health } : {}),
      client,
      metrics,
      close,
      ...(metricsListener ? { metricsUrl: metricsListener.url } : {}),
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
async function connectTemporal(address: string, namespace: string, tls: TLSConfig | undefined, timeoutMs: number, compression: TemporalCompression): Promise<NativeConnection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await NativeConnection.connect({ address, grpcCompression: { codec: compression }, ...(tls ? { tls } : {}) });
      try {
        await connection.withDeadline(Date.now() + 5000, () => connection.workflowService.describeNamespace({ namespace }));
        return connection;
      } catch (err) {
        await connection.close();
        throw err;
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} (namespace ${namespace}) is not reachable: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export type TemporalCompression = 'gzip' | 'none';

export interface TemporalTls {
  /** Client certificate and key (PEM files) for mTLS. */
  certFile?: string;
  keyFile?: string;
  /** CA bundle that signed the server's certificate (PEM file); system CAs when unset. */
  caFile?: string;
  serverName?: string;
}

async function temporalTlsConfig(files: TemporalTls): Promise<TLSConfig> {
  const [crt, key, ca] = await Promise.all([files.certFile, files.keyFile, files.caFile].map((file) => (file ? readFile(file) : Promise.resolve(undefined))));
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(files.serverName ? { serverNameOverride: files.serverName } : {}),
  };
}

/** Activity log lines carry the task token by default; it lets its holder complete the activity. */
const workerInterceptors: WorkerInterceptors = {
  activity: [
    requestIdActivityInterceptor,
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
