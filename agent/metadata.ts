// Reads the cloud instance metadata service, so the agent learns its public address and instance
// identity from the cloud itself rather than from a third-party "what is my IP" service. Behind cloud
// NAT the OS never sees the public IP or EIP (DESIGN §3), so this is the only first-hand source.
//
// Documented behaviour this relies on (and that test/fakes/metadata.ts reproduces):
// - AWS IMDSv2 (EC2 User Guide, "How Instance Metadata Service Version 2 works" and "Responses and
//   error messages"): PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600) returns
//   a token; GETs carry X-aws-ec2-metadata-token; "requests without a valid token or with an expired
//   token receive a 401"; 400 = the PUT is not valid; 403 = not allowed or IMDS turned off; 404 = no such
//   resource (public-ipv4 when the instance has no public IPv4; an associated EIP is what public-ipv4
//   returns); "PUT requests are rejected if they contain an X-Forwarded-For header"; the PUT response
//   has an IP hop limit of 1 by default, so from a bridged container the token PUT simply times out.
// - Alibaba Cloud ECS (help "Instance metadata", doc 49122/108460): base http://100.100.100.200/latest/
//   meta-data/, items instance-id, region-id, eipv4 (the EIP on the primary NIC), public-ipv4;
//   security-hardening mode: PUT /latest/api/token with X-aliyun-ecs-metadata-token-ttl-seconds (1..21600),
//   token in X-aliyun-ecs-metadata-token; FAQ: TTL out of range → 400, X-Forwarded-For on the PUT → 403,
//   invalid token → 401; with hardening enforced (HttpTokens=required) a GET without token → 403.
//
// Requests go straight to the link-local service with node:http, never through HTTP_PROXY: a proxy
// would answer for its own host, or leak the metadata.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from '../lib/log';

export type MetadataProvider = 'aws' | 'aliyun';
export type MetadataMode = MetadataProvider | 'auto' | 'none';

export interface CloudIdentity {
  provider: MetadataProvider;
  instanceId: string;
  region?: string;
  /** Public IPv4/IPv6 the cloud maps to this instance (EIP preferred on Alibaba Cloud). */
  publicIp?: string;
}

export interface MetadataSource {
  /**
   * Reads the identity afresh (an EIP may be re-associated at any time). `undefined` means: not in that
   * cloud, service unreachable, or it failed mid-read; callers keep their last good identity if they
   * want one. Never throws.
   */
  read(): Promise<CloudIdentity | undefined>;
}

export interface MetadataOptions {
  provider: MetadataMode;
  /** Base URL override (tests, a relay): replaces http://169.254.169.254 / http://100.100.100.200. */
  endpoint?: string;
  /** Per-provider base URLs, for `auto` when the two clouds answer at different places (tests). */
  endpoints?: Partial<Record<MetadataProvider, string>>;
  /** Deadline of one HTTP request once the cloud is known (default 2000 ms). */
  timeoutMs?: number;
  /** Deadline of one request while `auto` is still probing (default 300 ms). */
  probeTimeoutMs?: number;
  /** Token lifetime asked for (1..21600 s, default 21600). */
  tokenTtlSeconds?: number;
  log: Logger;
  /** Clock for token expiry (tests). */
  now?: () => number;
}

interface ProviderSpec {
  provider: MetadataProvider;
  defaultEndpoint: string;
  ttlHeader: string;
  tokenHeader: string;
  /** Alibaba serves plain GETs unless hardening is enforced; AWS we only speak IMDSv2 (see probe()). */
  plainFallback: boolean;
  region: string;
  /** Tried in order; the first that holds an IP address wins. */
  publicIp: string[];
}

const SPECS: Record<MetadataProvider, ProviderSpec> = {
  aws: {
    provider: 'aws',
    defaultEndpoint: 'http://169.254.169.254',
    ttlHeader: 'x-aws-ec2-metadata-token-ttl-seconds',
    tokenHeader: 'x-aws-ec2-metadata-token',
    // IMDSv2 only: it is mandatory on hardened instances, and an EC2-compatible service elsewhere
    // (OpenStack answers IMDSv1 paths on the same address) must not be mistaken for AWS.
    plainFallback: false,
    region: 'placement/region',
    publicIp: ['public-ipv4'],
  },
  aliyun: {
    provider: 'aliyun',
    defaultEndpoint: 'http://100.100.100.200',
    ttlHeader: 'x-aliyun-ecs-metadata-token-ttl-seconds',
    tokenHeader: 'x-aliyun-ecs-metadata-token',
    plainFallback: true,
    region: 'region-id',
    publicIp: ['eipv4', 'public-ipv4'],
  },
};

const MAX_TTL_SECONDS = 21_600;
const MAX_BODY = 64 * 1024;
const TOKEN_SHAPE = /^[\x21-\x7e]{1,4096}$/;
const ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
const REGION_SHAPE = /^[a-z0-9-]{1,64}$/i;

/** The service could not be reached in time (not this cloud, or the hop limit ate the token). */
class Unreachable extends Error {
  override name = 'Unreachable';
}
/** The service answered, but not as documented. */
class Unexpected extends Error {
  override name = 'Unexpected';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

function send(url: URL, method: 'GET' | 'PUT', headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (err: Error) =>
      settle(() => reject(err instanceof Unexpected || err instanceof Unreachable ? err : new Unreachable(err.message)));
    // agent: false: a fresh socket per call, no pooled keep-alive sockets left to a link-local peer.
    const req = httpRequest(url, { method, headers, agent: false, signal });
    const timer = setTimeout(() => {
      fail(new Unreachable(`no answer within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
        else {
          fail(new Unexpected(`${url.pathname}: answer larger than ${MAX_BODY} bytes`, res.statusCode));
          req.destroy();
        }
      });
      res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers })));
      res.on('error', fail);
      res.on('close', () => fail(new Unreachable('connection closed mid-answer')));
    });
    req.end();
  });
}

function joinUrl(base: URL, path: string): URL {
  const u = new URL(base.href);
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  return u;
}

function parseBase(raw: string): URL {
  const u = new URL(raw);
  if (u.protocol !== 'http:') throw new Error(`metadata endpoint must be an http:// URL (got ${raw})`);
  return u;
}

interface ReadContext {
  timeoutMs: number;
  signal?: AbortSignal;
  /** While probing, a foreign answer is expected: report it at debug level only. */
  probing: boolean;
}

/** One cloud's metadata service: token session, item reads, identity assembly. */
class CloudMetadata {
  private token?: { value: string; renewAt: number };
  private tokenFetch?: Promise<string | undefined>;
  /** Alibaba without hardening support answers the token PUT with 404/405: then plain GETs. */
  private plain = false;
  private lastProblem?: string;

  constructor(
    readonly spec: ProviderSpec,
    private readonly base: URL,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  async read(ctx: ReadContext): Promise<CloudIdentity | undefined> {
    try {
      const instanceId = await this.item('instance-id', ctx);
      if (instanceId === undefined || !ID_SHAPE.test(instanceId)) {
        throw new Unexpected(`instance-id is ${instanceId === undefined ? 'missing' : 'not an instance id'}`);
      }
      const region = await this.item(this.spec.region, ctx);
      const identity: CloudIdentity = { provider: this.spec.provider, instanceId };
      if (region !== undefined && REGION_SHAPE.test(region)) identity.region = region;
      for (const path of this.spec.publicIp) {
        const ip = await this.item(path, ctx);
        if (ip === undefined) continue;
        if (isIP(ip)) {
          identity.publicIp = ip;
          break;
        }
        this.report('debug', ctx, `ignoring ${path}: not an IP address`, { path });
      }
      this.lastProblem = undefined;
      return identity;
    } catch (err) {
      if (err instanceof Unreachable) {
        this.report('debug', ctx, 'cloud metadata service unreachable', { reason: err.message });
      } else if (err instanceof Unexpected) {
        this.report('warn', ctx, `cloud metadata service answered unexpectedly: ${err.message}`, err.status ? { status: err.status } : {});
      } else {
        this.report('warn', ctx, 'cloud metadata read failed', { err });
      }
      return undefined;
    }
  }

  /** One log line per distinct problem until the next success: a periodic read must not spam. */
  private report(level: 'debug' | 'warn', ctx: ReadContext, msg: string, fields: Record<string, unknown>): void {
    const key = `${msg} ${JSON.stringify(fields)}`;
    if (key === this.lastProblem) return;
    this.lastProblem = key;
    const f = { provider: this.spec.provider, endpoint: this.base.origin, ...fields };
    if (level === 'warn' && !ctx.probing) this.log.warn(msg, f);
    else this.log.debug(msg, f);
  }

  /** The item's value, or undefined when the service says it does not exist (404). */
  private async item(path: string, ctx: ReadContext): Promise<string | undefined> {
    const url = joinUrl(this.base, `/latest/meta-data/${path}`);
    for (let attempt = 0; ; attempt++) {
      const token = this.plain ? undefined : await this.currentToken(ctx);
      const headers: Record<string, string> = token ? { [this.spec.tokenHeader]: token } : {};
      const r = await send(url, 'GET', headers, ctx.timeoutMs, ctx.signal);
      if (r.status === 200) return r.body.trim();
      if (r.status === 404) return undefined;
      // 401: token expired or unknown (both clouds). 403 without a token: hardening now enforced
      // (Alibaba). Either way a fresh session fixes it; a second refusal is real.
      if ((r.status === 401 || r.status === 403) && attempt === 0) {
        this.token = undefined;
        if (this.plain && r.status === 403) this.plain = false;
        continue;
      }
      throw new Unexpected(`GET ${path} returned ${r.status}`, r.status);
    }
  }

  private async currentToken(ctx: ReadContext): Promise<string | undefined> {
    if (this.token && this.now() < this.token.renewAt) return this.token.value;
    // One PUT at a time; concurrent reads share it.
    this.tokenFetch ??= this.fetchToken(ctx).finally(() => (this.tokenFetch = undefined));
    return this.tokenFetch;
  }

  private async fetchToken(ctx: ReadContext): Promise<string | undefined> {
    const asked = this.now();
    let r: Reply;
    try {
      r = await send(joinUrl(this.base, '/latest/api/token'), 'PUT', { [this.spec.ttlHeader]: String(this.ttlSeconds) }, ctx.timeoutMs, ctx.signal);
    } catch (err) {
      // The PUT answer carries IP TTL 1 on AWS by default: one extra hop (a bridged container) drops it.
      if (err instanceof Unreachable && this.spec.provider === 'aws') throw new Unreachable(`token PUT: ${err.message} (from a bridged container the instance needs HttpPutResponseHopLimit >= 2)`);
      throw err;
    }
    if (r.status === 200) {
      const value = r.body.trim();
      if (!TOKEN_SHAPE.test(value)) throw new Unexpected('token PUT answered something that is not a token', r.status);
      // AWS echoes the granted TTL in the same header; trust the shorter of the two.
      const echoed = Number(r.headers[this.spec.ttlHeader]);
      const ttl = Number.isInteger(echoed) && echoed > 0 ? Math.min(echoed, this.ttlSeconds) : this.ttlSeconds;
      // Renew a little before the end (10%, at most a minute), so a token never dies in flight.
      const margin = Math.min(60_000, ttl * 100);
      this.token = { value, renewAt: asked + ttl * 1000 - margin };
      this.plain = false;
      return value;
    }
    if (this.spec.plainFallback && (r.status === 404 || r.status === 405)) {
      if (!this.plain) this.log.debug('metadata tokens not supported here; using plain requests', { provider: this.spec.provider, status: r.status });
      this.plain = true;
      return undefined;
    }
    throw new Unexpected(`token PUT returned ${r.status}`, r.status);
  }
}

class NoMetadata implements MetadataSource {
  async read(): Promise<undefined> {
    return undefined;
  }
}

class FixedSource implements MetadataSource {
  constructor(
    private readonly cloud: CloudMetadata,
    private readonly timeoutMs: number,
  ) {}
  read(): Promise<CloudIdentity | undefined> {
    return this.cloud.read({ timeoutMs: this.timeoutMs, probing: false });
  }
}

/** Asks every cloud at once with a short deadline, then sticks with the first that answered. */
class AutoSource implements MetadataSource {
  private chosen?: CloudMetadata;
  private probing?: Promise<CloudIdentity | undefined>;
  private reportedNone = false;

  constructor(
    private readonly clouds: CloudMetadata[],
    private readonly timeoutMs: number,
    private readonly probeTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  read(): Promise<CloudIdentity | undefined> {
    if (this.chosen) return this.chosen.read({ timeoutMs: this.timeoutMs, probing: false });
    this.probing ??= this.probe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probe(): Promise<CloudIdentity | undefined> {
    const abort = new AbortController();
    const attempts = this.clouds.map(async (cloud) => {
      const id = await cloud.read({ timeoutMs: this.probeTimeoutMs, signal: abort.signal, probing: true });
      if (!id) throw new Error('no answer');
      return { cloud, id };
    });
    try {
      const { cloud, id } = await Promise.any(attempts);
      abort.abort(); // the other probe is moot
      this.chosen = cloud;
      this.log.info('cloud metadata found', { provider: id.provider, instanceId: id.instanceId, region: id.region });
      return id;
    } catch {
      if (!this.reportedNone) this.log.debug('no cloud metadata service answered; assuming a data center', { probeTimeoutMs: this.probeTimeoutMs });
      this.reportedNone = true;
      return undefined;
    }
  }
}

export function createMetadataSource(options: MetadataOptions): MetadataSource {
  if (options.provider === 'none') return new NoMetadata();
  const ttl = options.tokenTtlSeconds ?? MAX_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) throw new Error(`tokenTtlSeconds must be 1..${MAX_TTL_SECONDS}`);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2000;
  const make = (p: MetadataProvider) =>
    new CloudMetadata(SPECS[p], parseBase(options.endpoints?.[p] ?? options.endpoint ?? SPECS[p].defaultEndpoint), ttl, options.log.child({ component: 'metadata' }), now);
  if (options.provider === 'auto') return new AutoSource([make('aws'), make('aliyun')], timeoutMs, options.probeTimeoutMs ?? 300, options.log.child({ component: 'metadata' }));
  return new FixedSource(make(options.provider), timeoutMs);
}
