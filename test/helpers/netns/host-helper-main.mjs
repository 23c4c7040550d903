// Long-lived helper that runs inside a site's host or gateway namespace (spawned with `ip netns exec`),
// so TCP servers and probes cost a line on stdin instead of a process each. Plain JavaScript because it is
// started with bare `node` (Node 20 cannot run TypeScript). Protocol: one JSON object per line.
//   -> {"id":1,"op":"listen","port":7000}                        <- {"id":1,"ok":true}
//   -> {"id":2,"op":"probe","ip":"10.2.0.2","port":7000,"timeoutMs":500}
//                                                                <- {"id":2,"ok":false,"error":"EHOSTUNREACH","ms":1.2}
//   -> {"id":3,"op":"wait","ip":..,"port":..,"timeoutMs":..,"intervalMs":..,"attemptTimeoutMs":..}
//                                                                <- {"id":3,"ok":true,"ms":123.4}
//   -> {"id":4,"op":"echo","port":7100}                          <- {"id":4,"ok":true}
//   -> {"id":5,"op":"stream","ip":..,"port":7100,"durationMs":8000,"chunkBytes":1024,"everyMs":10}
//                                                                <- {"id":5,"ok":true,"sent":..,"echoed":..,"maxGapMs":..}
//   -> {"id":6,"op":"whoami","port":7300}                        <- {"id":6,"ok":true}
//      (answers each connection with the address it came from, then closes)
//   -> {"id":7,"op":"read","ip":..,"port":..,"timeoutMs":..,"proxy":{"ip":..,"port":3128}}
//                                                                <- {"id":7,"ok":true,"data":"203.0.113.40","ms":..}
//      (reads until the server closes; with "proxy", through an HTTP CONNECT tunnel)
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

/** Answers every connection with the peer's address: what a NAT made of the client's source. */
async function whoami(port) {
  if (servers.has(port)) return;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(socket.remoteAddress ?? '');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  servers.set(port, server);
}

const MAX_READ_BYTES = 64 * 1024;
const MAX_PROXY_HEADER_BYTES = 8 * 1024;

/**
 * Connects (directly, or through an HTTP CONNECT proxy when `proxy` is given) and reads until the
 * server closes. ok only if the connection (and the proxy's 200) came through and at least one
 * byte arrived before the close. Never rejects.
 */
function read(ip, port, timeoutMs, proxy) {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect(proxy ? { host: proxy.ip, port: proxy.port } : { host: ip, port });
    const chunks = [];
    let received = 0;
    // Bytes of the proxy's answer while its header is incomplete; undefined once tunnelling.
    let proxyHeader = proxy ? Buffer.alloc(0) : undefined;
    let done = false;
    const finish = (ok, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, error, data: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start });
    };
    const timer = setTimeout(() => finish(false, received > 0 ? 'timeout before the server closed' : 'timeout'), timeoutMs);
    const keep = (data) => {
      received += data.length;
      if (received > MAX_READ_BYTES) return finish(false, `more than ${MAX_READ_BYTES} bytes`);
      chunks.push(data);
    };
    if (proxy) {
      socket.once('connect', () => socket.write(`CONNECT ${ip}:${port} HTTP/1.1\r\nHost: ${ip}:${port}\r\n\r\n`));
    }
    socket.on('data', (data) => {
      if (proxyHeader === undefined) return keep(data);
      proxyHeader = Buffer.concat([proxyHeader, data]);
      const end = proxyHeader.indexOf('\r\n\r\n');
      if (end < 0) {
        if (proxyHeader.length > MAX_PROXY_HEADER_BYTES) finish(false, 'proxy header too long');
        return;
      }
      const status = proxyHeader.subarray(0, proxyHeader.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200 /.test(status)) return finish(false, `proxy answered: ${status}`);
      const rest = proxyHeader.subarray(end + 4);
      proxyHeader = undefined;
      if (rest.length > 0) keep(rest);
    });
    socket.once('error', (err) => finish(false, err.code ?? err.message));
    socket.once('close', () => {
      if (proxyHeader !== undefined) finish(false, 'closed before the proxy answered');
      else finish(received > 0, received > 0 ? undefined : 'closed without data');
    });
  });
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

/** A TCP echo server: what a long-lived connection through the tunnel talks to. */
async function echo(port) {
  if (servers.has(port)) return;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  servers.set(port, server);
}

/**
 * One TCP connection kept busy for durationMs: a chunk of a counting byte pattern every everyMs,
 * every echoed byte checked. ok only if the connection never broke and everything sent came back
 * in order; maxGapMs is the longest wait between two echoed chunks (a tunnel re-negotiation shows
 * up there, a broken connection in error).
 */
function stream(ip, port, durationMs, chunkBytes, everyMs) {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect({ host: ip, port });
    let sent = 0;
    let echoed = 0;
    let lastEcho = start;
    let maxGapMs = 0;
    let done = false;
    let sendingDone = false;
    let sender;
    const finish = (ok, error) => {
      if (done) return;
      done = true;
      clearInterval(sender);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ ok, error, sent, echoed, maxGapMs, ms: performance.now() - start });
    };
    socket.setNoDelay(true);
    socket.once('connect', () => {
      lastEcho = performance.now();
      sender = setInterval(() => {
        if (performance.now() - start >= durationMs) {
          clearInterval(sender);
          sendingDone = true;
          if (echoed === sent) finish(true, undefined);
          return;
        }
        const chunk = Buffer.alloc(chunkBytes);
        for (let i = 0; i < chunkBytes; i++) chunk[i] = (sent + i) & 0xff;
        sent += chunkBytes;
        socket.write(chunk);
      }, everyMs);
    });
    socket.on('data', (data) => {
      for (let i = 0; i < data.length; i++) {
        if (data[i] !== ((echoed + i) & 0xff)) return finish(false, `corrupt byte at offset ${echoed + i}`);
      }
      echoed += data.length;
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - lastEcho);
      lastEcho = now;
      if (sendingDone && echoed === sent) finish(true, undefined);
    });
    socket.once('error', (err) => finish(false, err.code ?? err.message));
    socket.once('close', () => finish(false, 'closed by the peer'));
    // Everything sent must be back within 30 s after the sending stopped.
    const deadline = setTimeout(() => finish(false, `only ${echoed} of ${sent} bytes came back`), durationMs + 30_000);
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
    case 'echo':
      await echo(msg.port);
      return { ok: true };
    case 'whoami':
      await whoami(msg.port);
      return { ok: true };
    case 'read':
      return read(msg.ip, msg.port, msg.timeoutMs, msg.proxy);
    case 'stream':
      return stream(msg.ip, msg.port, msg.durationMs, msg.chunkBytes ?? 1024, msg.everyMs ?? 10);
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
