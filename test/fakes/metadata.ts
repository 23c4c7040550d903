// A fake cloud instance metadata service (AWS IMDSv2 or Alibaba Cloud ECS) on a loopback port, with
// the documented status codes; test/unit/metadata.test.ts pins each one to its source. Knobs change
// what the instance has (public IP, EIP), how the service behaves (token mode, expiry), and inject
// faults (status codes, garbage, silence), in the manner of Submariner's fake drivers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export type FakeCloud = 'aws' | 'aliyun';

/**
 * - required: every GET needs a valid token (AWS HttpTokens=required; Alibaba "hardened only").
 * - optional: GETs without a token are served too (AWS IMDSv1 allowed; Alibaba normal mode).
 * - unsupported: no token endpoint at all (an Alibaba metadata server without hardening: PUT → 404).
 */
export type TokenMode = 'required' | 'optional' | 'unsupported';

export interface FakeMetadataOptions {
  cloud: FakeCloud;
  instanceId?: string;
  region?: string;
  /** AWS: public-ipv4 (an associated EIP shows here). Alibaba: the fixed public IP (public-ipv4). */
  publicIp?: string;
  /** Alibaba only: the EIP bound to the primary NIC (eipv4). On AWS use publicIp. */
  eip?: string;
  tokens?: TokenMode;
  /** Clock for token expiry (default Date.now). */
  now?: () => number;
  /** Address to listen on (default 127.0.0.1; a namespace fixture's controller address, say). */
  host?: string;
}

export interface SeenRequest {
  method: string;
  path: string;
  token?: string;
  ttl?: string;
  /** Status the fake answered with (unset while unanswered). */
  status?: number;
}

const MAX_TTL = 21_600;

const HEADERS = {
  aws: { ttl: 'x-aws-ec2-metadata-token-ttl-seconds', token: 'x-aws-ec2-metadata-token' },
  aliyun: { ttl: 'x-aliyun-ecs-metadata-token-ttl-seconds', token: 'x-aliyun-ecs-metadata-token' },
} as const;

export class FakeMetadataServer {
  readonly cloud: FakeCloud;
  instanceId: string;
  region: string;
  publicIp?: string;
  eip?: string;
  tokens: TokenMode;
  /** Accept connections but never answer (the AWS hop limit dropping the PUT answer, a firewall). */
  silent = false;
  /** Every request seen, in order. */
  readonly requests: SeenRequest[] = [];
  /** Raw bodies to serve instead of the modelled value, by item path (garbage injection). */
  readonly overrides = new Map<string, string>();

  private readonly now: () => number;
  private readonly issued = new Map<string, number>(); // token -> expiry (ms)
  private readonly faults: Array<{ method: string; path: string; status: number }> = [];
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private base = '';

  private constructor(o: FakeMetadataOptions) {
    this.cloud = o.cloud;
    this.instanceId = o.instanceId ?? (o.cloud === 'aws' ? 'i-0abcdef1234567890' : 'i-bp13znx0m0me8cquu123');
    this.region = o.region ?? (o.cloud === 'aws' ? 'eu-central-1' : 'cn-hangzhou');
    this.publicIp = o.publicIp;
    this.eip = o.eip;
    this.tokens = o.tokens ?? 'required';
    this.now = o.now ?? Date.now;
  }

  static async start(o: FakeMetadataOptions): Promise<FakeMetadataServer> {
    const f = new FakeMetadataServer(o);
    const server = createServer((req, res) => f.handle(req, res));
    server.on('connection', (s) => {
      f.sockets.add(s);
      s.on('close', () => f.sockets.delete(s));
    });
    const host = o.host ?? '127.0.0.1';
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    f.server = server;
    f.base = `http://${host}:${(server.address() as AddressInfo).port}`;
    return f;
  }

  /** Base URL, to pass as the metadata endpoint. */
  get url(): string {
    return this.base;
  }

  /** Token PUTs seen so far. */
  get tokenRequests(): number {
    return this.requests.filter((r) => r.method === 'PUT').length;
  }

  /** Every issued token stops working now (as after its TTL). */
  expireTokens(): void {
    for (const t of this.issued.keys()) this.issued.set(t, 0);
  }

  /** The next `times` requests of `method path` get `status` instead of an answer. */
  failNext(method: 'GET' | 'PUT', path: string, status: number, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ method, path, status });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const h = HEADERS[this.cloud];
    const token = header(req, h.token);
    const ttl = header(req, h.ttl);
    const seen: SeenRequest = { method: req.method ?? '', path, ...(token !== undefined ? { token } : {}), ...(ttl !== undefined ? { ttl } : {}) };
    this.requests.push(seen);
    seenBy.set(res, seen);
    if (this.silent) return; // the socket is destroyed by stop()

    const fault = this.faults.findIndex((f) => f.method === req.method && f.path === path);
    if (fault >= 0) {
      const [f] = this.faults.splice(fault, 1);
      return text(res, f!.status, `injected ${f!.status}`);
    }
    if (path === '/latest/api/token') return this.token(req, res, ttl);
    if (path.startsWith('/latest/meta-data/')) return this.metadata(req, res, path.slice('/latest/meta-data/'.length), token);
    return text(res, 404, 'Not Found');
  }

  private token(req: IncomingMessage, res: ServerResponse, ttlHeader: string | undefined): void {
    if (this.tokens === 'unsupported') return text(res, 404, 'Not Found');
    if (req.method !== 'PUT') return text(res, 405, 'Method Not Allowed', { allow: 'PUT' });
    // AWS: "PUT requests are rejected if they contain an X-Forwarded-For header"; Alibaba FAQ: 403.
    if (req.headers['x-forwarded-for'] !== undefined) return text(res, 403, 'Forbidden');
    // Both: TTL 1..21600 s; missing or out of range → 400 Missing or Invalid Parameters.
    if (ttlHeader === undefined || !/^\d+$/.test(ttlHeader) || Number(ttlHeader) < 1 || Number(ttlHeader) > MAX_TTL) {
      return text(res, 400, 'Missing or Invalid Parameters');
    }
    const ttl = Number(ttlHeader);
    const value = randomBytes(40).toString('base64');
    this.issued.set(value, this.now() + ttl * 1000);
    // AWS echoes the TTL on the answer (as the EC2 metadata mock and the SDKs expect).
    return text(res, 200, value, this.cloud === 'aws' ? { [HEADERS.aws.ttl]: String(ttl) } : {});
  }

  private metadata(req: IncomingMessage, res: ServerResponse, item: string, token: string | undefined): void {
    // AWS: "HTTP GET and HEAD methods are allowed in IMDSv2 instance metadata requests."
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    if (token !== undefined && this.tokens !== 'unsupported') {
      const exp = this.issued.get(token);
      // Both clouds: an invalid or expired token → 401 Unauthorized.
      if (exp === undefined || this.now() >= exp) return text(res, 401, 'Unauthorized');
    } else if (this.tokens === 'required') {
      // AWS: no token when tokens are required → 401. Alibaba hardened-only: normal mode → 403.
      return this.cloud === 'aws' ? text(res, 401, 'Unauthorized') : text(res, 403, 'Forbidden');
    }
    const value = this.overrides.get(item) ?? this.value(item);
    // Both: an item the instance does not have (no public IP, no EIP) → 404.
    if (value === undefined) return text(res, 404, 'Not Found');
    return text(res, 200, value);
  }

  private value(item: string): string | undefined {
    if (item === 'instance-id') return this.instanceId;
    if (this.cloud === 'aws') {
      if (item === 'placement/region') return this.region;
      if (item === 'public-ipv4') return this.publicIp;
    } else {
      if (item === 'region-id') return this.region;
      if (item === 'public-ipv4') return this.publicIp;
      if (item === 'eipv4') return this.eip;
    }
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const seenBy = new WeakMap<ServerResponse, SeenRequest>();

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const seen = seenBy.get(res);
  if (seen) seen.status = status;
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}
