// Long-lived helper that runs inside a site's host namespace (spawned with `ip netns exec`), so TCP
// servers and probes cost a line on stdin instead of a process each. Plain JavaScript because it is
// started with bare `node` (Node 20 cannot run TypeScript). Protocol: one JSON object per line.
//   -> {"id":1,"op":"listen","port":7000}                        <- {"id":1,"ok":true}
//   -> {"id":2,"op":"probe","ip":"10.2.0.2","port":7000,"timeoutMs":500}
//                                                                <- {"id":2,"ok":false,"error":"EHOSTUNREACH","ms":1.2}
//   -> {"id":3,"op":"wait","ip":..,"port":..,"timeoutMs":..,"intervalMs":..,"attemptTimeoutMs":..}
//                                                                <- {"id":3,"ok":true,"ms":123.4}
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import readline from 'node:readline';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';

const servers = new Map();

function reply(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Connects and waits for the first byte; resolves { ok, error }. Never rejects. */
function probeOnce(ip, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    let done = false;
    const finish = (ok, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, error });
    };
    const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
    socket.once('data', () => finish(true, undefined));
    socket.once('error', (err) => finish(false, err.code ?? err.message));
    socket.once('close', () => finish(false, 'closed without data'));
  });
}

async function listen(port) {
  if (servers.has(port)) return;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(Buffer.of(0x2a));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  servers.set(port, server);
}

/** Starts an attempt every intervalMs (overlapping, since a dropped SYN only retries after 1 s). */
function wait(ip, port, timeoutMs, intervalMs, attemptTimeoutMs) {
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let inFlight = 0;
    let lastError = 'no attempt finished';
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      resolve(result);
    };
    const attempt = () => {
      if (settled || inFlight >= 64) return;
      inFlight += 1;
      void probeOnce(ip, port, attemptTimeoutMs).then((r) => {
        inFlight -= 1;
        if (r.ok) finish({ ok: true, ms: performance.now() - start });
        else lastError = r.error;
      });
    };
    const ticker = setInterval(attempt, intervalMs);
    const deadline = setTimeout(() => finish({ ok: false, error: lastError, ms: performance.now() - start }), timeoutMs);
    attempt();
  });
}

async function handle(msg) {
  const start = performance.now();
  switch (msg.op) {
    case 'listen':
      await listen(msg.port);
      return { ok: true };
    case 'probe': {
      const r = await probeOnce(msg.ip, msg.port, msg.timeoutMs);
      return { ...r, ms: performance.now() - start };
    }
    case 'wait':
      return wait(msg.ip, msg.port, msg.timeoutMs, msg.intervalMs, msg.attemptTimeoutMs);
    default:
      throw new Error(`unknown op ${msg.op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  handle(msg).then(
    (result) => reply({ id: msg.id, ...result }),
    (err) => reply({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The fixture closing stdin (or dying) ends the helper and its servers.
rl.on('close', () => process.exit(0));
reply({ ready: true });
