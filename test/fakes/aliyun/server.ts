// A faithful HTTP fake of Alibaba Cloud's RPC-style VPC (2016-04-28) and ECS (2014-05-26) APIs on
// one loopback port, for the real @alicloud SDK clients. Each request goes through what the cloud's
// gateway does, in order: V3 signature check, per-API flow control, ClientToken idempotence, the
// route-table lock, injected faults, then the API itself.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ApiError, apiError } from './errors';
import { FaultQueue, faultError, type FaultSpec } from './faults';
import { TokenStore } from './idempotence';
import type { ApiHandler, FakeBehaviour } from './context';
import { FakeCloud, type RuleRecord } from './model';
import { Params } from './params';
import * as seed from './seed';
import { verifyRequest, type AccessKeyRecord, type ReplayGuard } from './signature';
import { maxRate, RateLimiter, type CallRecord, type Limits } from './throttle';
import { vpcRouteHandlers } from './vpc-routes';
import { vpcRouteBatchHandlers } from './vpc-route-batches';
import { vpcDescribeHandlers } from './vpc-describe';
import { ecsInstanceHandlers } from './ecs-instances';
import { ecsSecurityGroupHandlers } from './ecs-security-groups';

export interface AliyunFakeOptions {
  /** AccessKeyId -> secret (or secret + required STS token). */
  accessKeys: Record<string, string | AccessKeyRecord>;
  /** Region of seeded resources unless given (default cn-hangzhou). */
  regionId?: string;
  /** Duration of Pending/Modifying/Deleting (default 200 ms). */
  asyncDelayMs?: number;
  limits?: Limits;
  /** Custom entries per route table (default 200, as documented). */
  routeQuota?: number;
  /** Rules per security group (default 200). */
  sgRuleQuota?: number;
  busyScope?: FakeBehaviour['busyScope'];
  /** How long a ClientToken is remembered (default 1 h; the docs give no figure). */
  clientTokenTtlMs?: number;
  /** Allowed x-acs-date skew, also the nonce memory (default 15 min). */
  maxClockSkewMs?: number;
  /** Send x-acs-retry-after (ms) with Throttling.User; the SDK reads it, the docs do not promise it. */
  sendRetryAfter?: boolean;
}

export interface RouteEntryView {
  routeEntryId: string;
  destinationCidrBlock: string;
  nextHopType: string;
  nextHopId: string;
  status: string;
  type: string;
}

const versions: Record<string, Record<string, ApiHandler>> = {
  '2016-04-28': { ...vpcRouteHandlers, ...vpcRouteBatchHandlers, ...vpcDescribeHandlers },
  '2014-05-26': { ...ecsInstanceHandlers, ...ecsSecurityGroupHandlers },
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class AliyunFake {
  private readonly cloud = new FakeCloud();
  private readonly keys: Map<string, AccessKeyRecord>;
  private readonly guard: ReplayGuard;
  private readonly limiter: RateLimiter;
  private readonly behaviour: FakeBehaviour;
  private readonly log: CallRecord[] = [];
  private readonly faults = new FaultQueue();
  private readonly tokens: TokenStore;
  private readonly locks = new Set<string>();
  private port = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: AliyunFakeOptions,
  ) {
    this.keys = new Map(Object.entries(opts.accessKeys).map(([id, k]) => [id, typeof k === 'string' ? { secret: k } : k]));
    this.guard = { maxSkewMs: opts.maxClockSkewMs ?? 15 * 60_000, nonces: new Map() };
    this.limiter = new RateLimiter(opts.limits);
    this.tokens = new TokenStore(opts.clientTokenTtlMs ?? 3_600_000);
    this.behaviour = {
      asyncDelayMs: opts.asyncDelayMs ?? 200,
      routeQuota: opts.routeQuota ?? 200,
      sgRuleQuota: opts.sgRuleQuota ?? 200,
      busyScope: opts.busyScope ?? 'table',
    };
  }

  static async start(opts: AliyunFakeOptions): Promise<AliyunFake> {
    const server = createServer();
    const fake = new AliyunFake(server, opts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void fake.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.port = (server.address() as AddressInfo).port;
    return fake;
  }

  /** host:port, as the SDK's Config.endpoint takes it (with protocol 'http'). */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.endpoint}`;
  }

  get regionId(): string {
    return this.opts.regionId ?? 'cn-hangzhou';
  }

  addVpc(o: seed.AddVpc) {
    return seed.addVpc(this.cloud, o, this.regionId, Date.now());
  }
  addVSwitch(o: seed.AddVSwitch) {
    return seed.addVSwitch(this.cloud, o);
  }
  addRouteTable(o: seed.AddRouteTable) {
    return seed.addRouteTable(this.cloud, o, Date.now());
  }
  addSecurityGroup(o: seed.AddSecurityGroup) {
    return seed.addSecurityGroup(this.cloud, o);
  }
  addInstance(o: seed.AddInstance) {
    return seed.addInstance(this.cloud, o);
  }
  /** A route someone else made (or a learned BGP/CEN route), Available unless told otherwise. */
  addRouteEntry(o: seed.AddRouteEntry) {
    return seed.addRouteEntry(this.cloud, o, Date.now());
  }

  /** Re-associates an instance's EIP with another instance (a standby taking over). */
  moveEip(fromInstanceId: string, toInstanceId: string): void {
    const from = this.cloud.instances.get(fromInstanceId);
    const to = this.cloud.instances.get(toInstanceId);
    if (!from?.eip || !to) throw new Error(`cannot move the EIP of ${fromInstanceId} to ${toInstanceId}`);
    to.eip = from.eip;
    from.eip = undefined;
  }

  /** Someone removes their route (out of band, e.g. in the console): gone at once. */
  removeRouteEntry(routeEntryId: string): void {
    if (!this.cloud.entries.delete(routeEntryId)) throw new Error(`no route entry ${routeEntryId}`);
  }

  /** The stored (non-system) entries of a table as they are now. */
  routeEntries(routeTableId: string): RouteEntryView[] {
    this.cloud.settle(Date.now());
    return this.cloud.storedEntriesOf(routeTableId).map((e) => ({
      routeEntryId: e.routeEntryId,
      destinationCidrBlock: e.destination,
      nextHopType: e.nextHopType,
      nextHopId: e.nextHopId,
      status: e.status,
      type: e.type,
    }));
  }

  securityGroupRules(securityGroupId: string): RuleRecord[] {
    const sg = this.cloud.securityGroups.get(securityGroupId);
    if (!sg) throw new Error(`fake: unknown security group ${securityGroupId}`);
    return sg.rules.map((r) => ({ ...r }));
  }

  /** Every request that reached the fake, throttled and failed ones included. */
  get calls(): readonly CallRecord[] {
    return this.log;
  }

  /** The most calls to `api` that arrived within any window of `windowMs`. */
  maxRate(api: string, windowMs = 1000): number {
    return maxRate(this.log, api, windowMs);
  }

  injectFault(f: FaultSpec): void {
    this.faults.add(f);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  setLimits(limits: Limits): void {
    this.limiter.setLimits(limits);
  }

  /** Forgets all resources, calls, faults, tokens and budgets; keeps keys and options. */
  reset(): void {
    this.cloud.clear();
    this.log.length = 0;
    this.faults.clear();
    this.tokens.clear();
    this.locks.clear();
    this.limiter.reset();
    this.limiter.setLimits(this.opts.limits ?? {});
    this.guard.nonces.clear();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const record: CallRecord = { api: '', at, ok: false, status: 0 };
    const release: (() => void)[] = [];
    let version = '';
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      const header = (n: string) => {
        const v = req.headers[n];
        return Array.isArray(v) ? v[0] : v;
      };
      record.api = header('x-acs-action') ?? url.searchParams.get('Action') ?? '';
      version = header('x-acs-version') ?? url.searchParams.get('Version') ?? '';
      const accessKeyId = verifyRequest(
        { method: req.method ?? 'GET', path: url.pathname, rawQuery: url.search.slice(1), headers: req.headers, body },
        this.keys,
        this.guard,
        at,
      );
      const handler = versions[version]?.[record.api];
      if (!handler) throw apiError('InvalidAction.NotFound');
      const form = /x-www-form-urlencoded/.test(header('content-type') ?? '') ? [new URLSearchParams(body.toString('utf8'))] : [];
      const params = Params.fromSearch(url.searchParams, ...form);
      const admitted = this.limiter.admit(record.api, at);
      if (!admitted.ok) {
        const e = apiError('Throttling.User');
        if (this.opts.sendRetryAfter) e.headers['x-acs-retry-after'] = String(admitted.retryAfterMs);
        throw e;
      }
      const token = handler.noClientToken ? ({ kind: 'none' } as const) : this.tokens.check(params, accessKeyId, record.api, at);
      if (token.kind === 'replay') return this.send(res, record, 200, { ...token.body, RequestId: randomUUID().toUpperCase() });
      if (token.kind === 'fresh') release.push(this.tokens.begin(token.key));
      const ctx = { params, cloud: this.cloud, now: Date.now(), behaviour: this.behaviour };
      this.cloud.settle(ctx.now);
      const lock = handler.lockKey?.(ctx);
      const lockKeys = lock === undefined ? [] : typeof lock === 'string' ? [lock] : [...new Set(lock)];
      if (lockKeys.some((k) => this.locks.has(k))) throw apiError('OperationFailed.DistibuteLock');
      for (const k of lockKeys) {
        this.locks.add(k);
        release.push(() => this.locks.delete(k));
      }
      const fault = this.faults.take(record.api);
      if (fault?.latencyMs) await sleep(fault.latencyMs);
      const injected = fault && faultError(fault);
      if (injected) throw injected;
      ctx.now = Date.now();
      this.cloud.settle(ctx.now);
      const result = handler.handle(ctx);
      if (token.kind === 'fresh') this.tokens.succeeded(token.key, token.fingerprint, result, at);
      this.send(res, record, 200, { ...result, RequestId: randomUUID().toUpperCase() });
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('InternalError', 500, `fake bug: ${e instanceof Error ? e.message : String(e)}`);
      record.code = err.code;
      const host = version === '2014-05-26' ? 'ecs.aliyuncs.com' : 'vpc.aliyuncs.com';
      const product = version === '2014-05-26' ? 'Ecs' : 'Vpc';
      this.send(res, record, err.status, {
        RequestId: randomUUID().toUpperCase(),
        HostId: host,
        Code: err.code,
        Message: err.message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=${product}`,
      }, err.headers);
    } finally {
      for (const r of release) r();
    }
  }

  private send(res: ServerResponse, record: CallRecord, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
    record.ok = status === 200;
    record.status = status;
    this.log.push(record);
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }
}
