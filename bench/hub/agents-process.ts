// One client process of simulated agents: the production agent session (agent/session.ts: auth
// header, hello with facts, request serving, backoff and jitter, watchdog) for a slice of the fleet,
// with a canned request handler instead of strongSwan. Several of these run side by side because
// one process may hold at most 20,000 open files here. On command each agent also sends the
// data-plane health frame the agent's HealthMonitor would (agent/health/monitor.ts), with simulated
// CHILD_SA counters and probe results, once per interval at its own offset within it.
import { ControllerSession } from '../../agent/session';
import type { HealthFrame } from '../../agent/health/monitor';
import type { Logger } from '../../lib/log';
import { connName, asLinkId } from '../../protocol/ids';
import { AgentFrame, type Facts, type LinkHealthReport, type Method } from '../../protocol/messages';
import { cidrAt, gatewayIdAt, innerAddrAt, linksOfGateway, secretFor, type AgentsCommand, type AgentsEvent } from './fleet';

const url = process.env.BENCH_HUB_URL!;
const seed = process.env.BENCH_SEED!;
const from = Number(process.env.BENCH_FROM);
const count = Number(process.env.BENCH_COUNT);
/** Gateways in the whole fleet (for the links between them). */
const fleetSize = Number(process.env.BENCH_FLEET);

let welcomed = 0;
let failedAttempts = 0;
let rejected = 0;
let served = 0;
let healthSent = 0;
let probeTargets = 0;

// Counts what the session reports instead of printing it: thousands of agents would drown the output.
const countingLog: Logger = {
  debug: () => undefined,
  info: (msg) => {
    if (msg === 'reconnecting') failedAttempts++;
  },
  warn: () => undefined,
  error: () => undefined,
  child: () => countingLog,
};

/** What a small gateway answers to `status`: one link with one established SA. */
const statusResult = {
  sas: [
    {
      name: 'link-ln0001',
      state: 'ESTABLISHED',
      localHost: '10.0.0.5',
      remoteHost: '203.0.113.77',
      children: [{ name: 'link-ln0001', state: 'INSTALLED', bytesIn: 123456, bytesOut: 654321, packetsIn: 1024, packetsOut: 2048, localTs: ['10.0.0.0/24'], remoteTs: ['10.1.0.0/24'] }],
    },
  ],
  links: ['link-ln0001'],
};

async function handle(method: Method): Promise<unknown> {
  served++;
  switch (method) {
    case 'status':
      return statusResult;
    case 'reconcile':
      return { removed: [] };
    default:
      throw Object.assign(new Error(`${method} is not simulated`), { code: 'unsupported' });
  }
}

/** One link's tunnel as this simulated end sees it: counters that grow at the link's own rate. */
interface SimLink {
  name: string;
  bytesPerSecIn: number;
  bytesPerSecOut: number;
  bytesIn: number;
  bytesOut: number;
  installedAt: number;
  lifetimeS: number;
  rttMs: number;
  /** The peer's inner address once the hub named it (probeTargets); no probes before, like the agent. */
  target?: string;
}

class SimAgent {
  readonly links: SimLink[];
  private timer?: NodeJS.Timeout;
  /** Set once the session exists (it needs this agent for its probe-target callback). */
  session?: ControllerSession;
  constructor(readonly i: number) {
    const now = Date.now();
    this.links = linksOfGateway(i, fleetSize).map(({ linkId }) => ({
      name: connName(asLinkId(linkId)),
      bytesPerSecIn: 1_000 + Math.random() * 200_000,
      bytesPerSecOut: 1_000 + Math.random() * 200_000,
      bytesIn: Math.floor(Math.random() * 1e9),
      bytesOut: Math.floor(Math.random() * 1e9),
      installedAt: now - Math.floor(Math.random() * 3_000_000),
      lifetimeS: 3_300 + Math.floor(Math.random() * 600),
      rttMs: 0.2 + Math.random() * 40,
    }));
  }

  setTargets(targets: Array<{ name: string; addr: string }>): void {
    probeTargets++;
    for (const link of this.links) link.target = targets.find((t) => t.name === link.name)?.addr;
  }

  /** The frame HealthMonitor.tick() would build after an interval of intervalMs. */
  frame(intervalMs: number): HealthFrame {
    const now = Date.now();
    const links = this.links.map((link): LinkHealthReport => {
      link.bytesIn += Math.round((link.bytesPerSecIn * intervalMs * (0.5 + Math.random())) / 1000);
      link.bytesOut += Math.round((link.bytesPerSecOut * intervalMs * (0.5 + Math.random())) / 1000);
      const installedFor = Math.floor((now - link.installedAt) / 1000);
      if (installedFor >= link.lifetimeS) link.installedAt = now; // rekeyed: a new CHILD_SA
      return {
        name: link.name,
        installed: true,
        bytesIn: link.bytesIn,
        bytesOut: link.bytesOut,
        packetsIn: Math.floor(link.bytesIn / 700),
        packetsOut: Math.floor(link.bytesOut / 700),
        idleIn: Math.floor(Math.random() * 3),
        idleOut: Math.floor(Math.random() * 3),
        installedFor: installedFor % link.lifetimeS,
        rekeyIn: link.lifetimeS - (installedFor % link.lifetimeS),
        innerAddr: innerAddrAt(this.i),
        ...(link.target
          ? { probe: { sent: 3, answered: 3, failStreak: 0, rttP50Ms: Math.round(link.rttMs * (0.9 + Math.random() * 0.2) * 1000) / 1000, target: link.target } }
          : {}),
      };
    });
    return { type: 'health', intervalMs, at: new Date(now).toISOString(), links };
  }

  /** Fixed rate from a random offset within the interval: 18,000 agents do not report in step. */
  startHealth(intervalMs: number): void {
    this.stopHealth();
    const tick = () => {
      const frame = this.frame(intervalMs);
      // The agent's own schema, checked on a few frames: a frame the hub would refuse would measure nothing.
      if (healthSent < 3) AgentFrame.parse(frame);
      if (this.session?.send(frame)) healthSent++;
    };
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, intervalMs);
    }, Math.random() * intervalMs);
  }

  stopHealth(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

const sessions: ControllerSession[] = [];
const agents: SimAgent[] = [];
for (let i = from; i < from + count; i++) {
  const gatewayId = gatewayIdAt(i);
  const facts: Facts = {
    agentVersion: '0.1.0-bench',
    hostname: `gw-${i}`,
    publicIp: `198.51.100.${i % 250}`,
    localAddrs: [`10.${(i >> 8) & 255}.${i & 255}.5`],
    cidrs: [cidrAt(i)],
    strongswanVersion: '5.9.8',
  };
  const agent = new SimAgent(i);
  const session = new ControllerSession({
    controllerUrls: [url],
    gatewayId,
    secret: secretFor(seed, gatewayId),
    proxy: {},
    // The production agent's defaults (agent/config.ts).
    backoff: { minMs: 500, maxMs: 30_000 },
    log: countingLog,
    facts: async () => facts,
    handle,
    onConnected: () => void welcomed++,
    onProbeTargets: (targets) => agent.setTargets(targets),
  });
  agent.session = session;
  sessions.push(session);
  agents.push(agent);
}

function send(ev: AgentsEvent): void {
  if (process.connected) process.send!(ev);
}

process.on('message', (cmd: AgentsCommand) => {
  if (cmd.type === 'go') {
    // All at once, as after a controller restart when every agent's socket dropped together.
    for (const s of sessions) {
      s.run().catch(() => void rejected++);
    }
    const progress = setInterval(() => {
      const connected = sessions.reduce((n, s) => n + (s.isConnected ? 1 : 0), 0);
      send({ type: 'progress', welcomed, connected, failedAttempts, rejected, served, healthSent, probeTargets });
    }, 250);
    progress.unref();
  } else if (cmd.type === 'health') {
    for (const a of agents) a.startHealth(cmd.intervalMs);
  } else if (cmd.type === 'healthStop') {
    for (const a of agents) a.stopHealth();
  } else {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', count: sessions.length });
