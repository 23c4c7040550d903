// One client process of simulated agents: the production agent session (agent/session.ts: auth
// header, hello with facts, request serving, backoff and jitter, watchdog) for a slice of the fleet,
// with a canned request handler instead of strongSwan. Several of these run side by side because
// one process may hold at most 20,000 open files here.
import { ControllerSession } from '../../agent/session';
import type { Logger } from '../../lib/log';
import type { Facts, Method } from '../../protocol/messages';
import { gatewayIdAt, secretFor, type AgentsCommand, type AgentsEvent } from './fleet';

const url = process.env.BENCH_HUB_URL!;
const seed = process.env.BENCH_SEED!;
const from = Number(process.env.BENCH_FROM);
const count = Number(process.env.BENCH_COUNT);

let welcomed = 0;
let failedAttempts = 0;
let rejected = 0;
let served = 0;

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

const sessions: ControllerSession[] = [];
for (let i = from; i < from + count; i++) {
  const gatewayId = gatewayIdAt(i);
  const facts: Facts = {
    agentVersion: '0.1.0-bench',
    hostname: `gw-${i}`,
    publicIp: `198.51.100.${i % 250}`,
    localAddrs: [`10.${(i >> 8) & 255}.${i & 255}.5`],
    cidrs: [`10.${(i >> 8) & 255}.${i & 255}.0/24`],
    strongswanVersion: '5.9.8',
  };
  sessions.push(
    new ControllerSession({
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
    }),
  );
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
      send({ type: 'progress', welcomed, connected, failedAttempts, rejected, served });
    }, 250);
    progress.unref();
  } else {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', count: sessions.length });
