// The agent's own Prometheus endpoint (AGENT_METRICS_ADDR, off by default): whether it is connected
// to a controller, how often it had to dial again, the controller's requests it served, and the
// tunnels it holds. Plain HTTP meant for a Prometheus (or node exporter's textfile collector) on
// the same host, so the default address is loopback; it carries no secrets and takes no requests
// that change anything.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Methods, type Method } from '../protocol/messages';
import { keyed, processMetrics } from '../lib/metrics';
import type { Logger } from '../lib/log';
import { urlHost } from '../lib/net';

export const AGENT_METRIC_PREFIX = 'ipsecmesh_agent_';

type Inc = { inc(value?: number): void };
type Observe = { observe(value: number): void };

export interface AgentGauges {
  connected(): boolean;
  tunnelsConfigured(): number;
  tunnelsUp(): number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly reconnects: Inc;
  /** Requests served, by method and outcome (bound children). */
  readonly served: Record<Method, { ok: Inc; failed: Inc; seconds: Observe }>;
  private gauges: AgentGauges = { connected: () => false, tunnelsConfigured: () => 0, tunnelsUp: () => 0 };

  constructor() {
    const registers = [this.registry];
    const read = (pick: (g: AgentGauges) => number) => () => pick(this.gauges);
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name: `${AGENT_METRIC_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    gauge('connected', '1 while the agent is connected to a controller (welcomed), else 0.', read((g) => (g.connected() ? 1 : 0)));
    gauge('tunnels_configured', 'Links the agent holds (applied to strongSwan and kept on disk).', read((g) => g.tunnelsConfigured()));
    gauge('tunnels_up', "Links whose CHILD_SA is installed, by strongSwan's latest event.", read((g) => g.tunnelsUp()));
    this.reconnects = new Counter({ name: `${AGENT_METRIC_PREFIX}reconnects_total`, help: 'Dials to a controller after the first (after a failure, a disconnect or an address change).', registers });
    const requests = new Counter({ name: `${AGENT_METRIC_PREFIX}rpc_handled_total`, help: "Controller requests the agent answered, by method and outcome (ok, failed).", labelNames: ['method', 'outcome'], registers });
    const duration = new Histogram({
      name: `${AGENT_METRIC_PREFIX}rpc_duration_seconds`,
      help: 'Time the agent took to answer a controller request, by method.',
      labelNames: ['method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.served = keyed(Object.keys(Methods) as Method[], (method) => ({ ok: requests.labels(method, 'ok'), failed: requests.labels(method, 'failed'), seconds: duration.labels(method) }));
  }

  /** The agent tells where its gauges are read from, at scrape time. */
  watch(gauges: AgentGauges): void {
    this.gauges = gauges;
  }

  /** These families and the agent process's default metrics. */
  exposition(): Registry {
    return Registry.merge([processMetrics(AGENT_METRIC_PREFIX), this.registry]);
  }
}

/** AGENT_METRICS_ADDR: host:port, [v6]:port. */
export function parseMetricsAddr(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/** Serves GET /metrics on `addr`; the listener's URL and a close function. */
export async function serveAgentMetrics(addr: { host: string; port: number }, metrics: AgentMetrics, log: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const registry = metrics.exposition();
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body),
      (err: unknown) => {
        log.error('metrics: could not render the exposition', { err });
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${urlHost(addr.host)}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
