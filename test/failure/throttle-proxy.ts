// A throttling gateway in front of a cloud emulator: a seeded share of requests is answered with
// the provider's own throttling error (Alibaba's Throttling.User, EC2's RequestLimitExceeded, in
// their wire formats), the rest is forwarded untouched, so the real SDK clients see what a
// throttled account sees. Neither moto nor the Alibaba fake can throttle a fixed share of calls
// (the fake throttles by rate, moto not at all), and a proxy keeps both emulators unchanged.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { apiError } from '../fakes/aliyun/errors';

export type Dialect = 'aliyun' | 'ec2';

export interface ThrottleProxy {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** 127.0.0.1:port (the form Alibaba's SDK takes as endpoint). */
  readonly endpoint: string;
  /** Requests answered with a throttling error, per action. */
  readonly throttled: Map<string, number>;
  /** Requests passed to the emulator, per action. */
  readonly forwarded: Map<string, number>;
  totals(): { throttled: number; forwarded: number };
  /** Share of requests to throttle from now on (0 turns throttling off). */
  setRatio(ratio: number): void;
  /** Forgets the counts so far. */
  resetCounts(): void;
  stop(): Promise<void>;
}

/** mulberry32: a small seeded PRNG, so a run's sequence of decisions is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function actionOf(dialect: Dialect, req: IncomingMessage, body: Buffer): string {
  const url = new URL(req.url ?? '/', 'http://proxy.invalid');
  if (dialect === 'aliyun') {
    const h = req.headers['x-acs-action'];
    return (Array.isArray(h) ? h[0] : h) ?? url.searchParams.get('Action') ?? '?';
  }
  return new URLSearchParams(body.toString('utf8')).get('Action') ?? url.searchParams.get('Action') ?? '?';
}

function sendThrottle(dialect: Dialect, res: ServerResponse): void {
  const requestId = randomUUID();
  if (dialect === 'aliyun') {
    const e = apiError('Throttling.User');
    res.writeHead(e.status, { 'content-type': 'application/json;charset=utf-8' });
    res.end(JSON.stringify({ RequestId: requestId.toUpperCase(), HostId: 'vpc.aliyuncs.com', Code: e.code, Message: e.message }));
    return;
  }
  // EC2 query protocol error document, as AWS sends it with HTTP 503.
  res.writeHead(503, { 'content-type': 'text/xml;charset=UTF-8' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  );
}

export async function startThrottleProxy(o: { target: string; dialect: Dialect; ratio: number; seed: number }): Promise<ThrottleProxy> {
  const target = new URL(o.target);
  const random = seededRandom(o.seed);
  let ratio = o.ratio;
  const throttled = new Map<string, number>();
  const forwarded = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const action = actionOf(o.dialect, req, body);
      // One draw per request, whatever the ratio, so the sequence does not depend on setRatio timing.
      if (random() < ratio) {
        bump(throttled, action);
        sendThrottle(o.dialect, res);
        return;
      }
      bump(forwarded, action);
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${err.message}`);
      });
      up.end(body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    url: `http://127.0.0.1:${port}`,
    endpoint: `127.0.0.1:${port}`,
    throttled,
    forwarded,
    totals: () => ({ throttled: sum(throttled), forwarded: sum(forwarded) }),
    setRatio: (r) => {
      ratio = r;
    },
    resetCounts: () => {
      throttled.clear();
      forwarded.clear();
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
