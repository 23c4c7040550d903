// The hub under test, alone in its process so its resident memory is its own: the real GatewayHub
// with the database presence store and the data-plane health collector wired as the controller
// wires them (controller/runtime.ts), on a plain HTTP server, driven by the orchestrator over IPC.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { openDb } from '../../db';
import { AGENT_LISTEN_BACKLOG, GatewayHub } from '../../gateway-hub/hub';
import { dbPresenceStore } from '../../gateway-hub/db-presence';
import { HubError } from '../../gateway-hub/errors';
import { HealthCollector } from '../../gateway-hub/health';
import { createLogger } from '../../lib/log';
import { ControllerMetrics } from '../../lib/metrics';
import type { GatewayId } from '../../protocol/ids';
import { createStore, healthRowsPerStatement, type HealthStore } from '../../store';
import type { HealthCounts, HubCommand, HubEvent, RpcSummary } from './fleet';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

function send(ev: HubEvent): void {
  if (process.connected) process.send!(ev);
}

/**
 * Open-loop load: request i is due at start + i/rate whatever happened to earlier ones, and its
 * latency counts from that due time, so a stalled hub shows up as latency instead of as a lower rate.
 */
async function openLoop(hub: GatewayHub, targets: GatewayId[], rate: number, seconds: number): Promise<RpcSummary> {
  const total = Math.round(rate * seconds);
  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  const inFlight: Array<Promise<void>> = [];
  let maxIssueLagMs = 0;
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      for (; next < total; next++) {
        const due = start + (next * 1000) / rate;
        if (due > now) break;
        maxIssueLagMs = Math.max(maxIssueLagMs, now - due);
        const gw = targets[Math.floor(Math.random() * targets.length)]!;
        inFlight.push(
          hub.call(gw, 'status', {}).then(
            () => void latenciesMs.push(performance.now() - due),
            (err: unknown) => {
              const code = err instanceof HubError ? err.code : 'other';
              errors[code] = (errors[code] ?? 0) + 1;
            },
          ),
        );
      }
      if (next < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  await Promise.all(inFlight);
  return { latenciesMs, errors, maxIssueLagMs, durationMs: performance.now() - start };
}

async function main(): Promise<void> {
  const db = await openDb(env('BENCH_DATABASE_URL'));
  const store = createStore(db);
  const log = createLogger({ level: 'warn', base: { component: 'hub' } });
  // Counted on the way through, so the orchestrator can print what the health path cost the database.
  const health: HealthCounts = { frames: 0, settled: 0, failed: 0, ignored: 0, rows: 0, flushes: 0, statements: 0, verdicts: 0, linkReads: 0, peerReads: 0 };
  const healthStore: HealthStore = {
    putMany: async (records) => {
      await store.health.putMany(records);
      health.flushes++;
      health.rows += records.length;
      health.statements += Math.ceil(records.length / healthRowsPerStatement('postgresql'));
    },
    forLinks: (linkIds) => {
      health.peerReads++;
      return store.health.forLinks(linkIds);
    },
  };
  const collector = new HealthCollector({
    linksOf: (gatewayId) => {
      health.linkReads++;
      return store.links.liveWithEndsOf(gatewayId);
    },
    store: healthStore,
    log: log.child({ component: 'health' }),
    // The controller feeds /metrics from every report; so does this one (nobody scrapes it here).
    metrics: new ControllerMetrics().linkHealth,
    sendTargets: (gatewayId, targets) => void hub.sendProbeTargets(gatewayId, targets),
    // The controller signals the link's workflow; there is no Temporal here, so only count them.
    onVerdict: () => void health.verdicts++,
  });
  // Same defaults as the controller's configuration (controller/config.ts).
  const hub = new GatewayHub({
    instanceId: env('BENCH_HUB_INSTANCE'),
    store: dbPresenceStore(db),
    log,
    heartbeatMs: Number(process.env.BENCH_HEARTBEAT_MS ?? 15_000),
    rpcTimeoutMs: 20_000,
    helloTimeoutMs: 10_000,
    // Every simulated agent dials from 127.0.0.1, where the per-address limit on connections not
    // yet welcomed (64 by default) would refuse all but a few of the storm; the total stays bounded
    // by the listen backlog and the agents themselves. A site with thousands of gateways behind one
    // NAT address needs the same (AGENT_PREAUTH_PER_IP, AGENT_PREAUTH_MAX).
    preauthPerIp: 1_000_000,
    preauthMax: 1_000_000,
    onHealth: (gatewayId, frame) => {
      health.frames++;
      collector.accept(gatewayId, frame).then(
        () => void health.settled++,
        (err: unknown) => {
          health.settled++;
          health.failed++;
          log.warn('health report not taken', { gatewayId, err });
        },
      );
    },
  });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  hub.attach(server);
  // As the controller should listen (see AGENT_LISTEN_BACKLOG); overridable to show the difference.
  const backlog = Number(process.env.BENCH_LISTEN_BACKLOG ?? AGENT_LISTEN_BACKLOG);
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog }, resolve));
  process.on('message', (cmd: HubCommand) => {
    switch (cmd.type) {
      case 'stats': {
        const m = process.memoryUsage();
        send({ type: 'stats', rss: m.rss, heapUsed: m.heapUsed, connected: hub.connectedCount, ready: hub.connectedGateways().length, health: { ...health, ignored: collector.ignored } });
        return;
      }
      case 'rpc':
        void openLoop(hub, hub.connectedGateways(), cmd.rate, cmd.seconds).then((summary) => send({ type: 'rpc', summary }));
        return;
      case 'stop':
        // Like a crashed or restarted controller: no goodbye writes; the orchestrator drops the database.
        process.exit(0);
    }
  });
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
}

main().catch((err: unknown) => {
  console.error('hub process failed:', err);
  process.exit(1);
});
