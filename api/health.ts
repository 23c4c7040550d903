// GET /healthz, the readiness probe of every controller process: the database answers a trivial
// query and Temporal answers, each within a short timeout. No token, no Host check, no audit.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ConnectionLike } from '@temporalio/client';
import type { Db } from '../db';
import type { Logger } from '../lib/log';

export const HEALTHZ_PATH = '/healthz';

/** How long one check may take before it counts as failed: well inside a kubelet probe's 5 s default. */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

/**
 * A result is reused this long: a probe storm (many replicas' probes, a load balancer per zone, a
 * curl loop) costs the database at most one `SELECT 1` and Temporal one call per second.
 */
export const HEALTH_CACHE_MS = 1000;

/** A check's outcome; words only, never the error text (it can name hosts, users, paths). */
export const CheckState = z.enum(['ok', 'failed', 'timeout']);
export type CheckState = z.infer<typeof CheckState>;

/** The answer, 200 when every check is "ok", 503 otherwise. */
export const HealthzAnswer = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), CheckState),
});
export type HealthzAnswer = z.infer<typeof HealthzAnswer>;

export type Check = () => Promise<unknown>;

/**
 * Runs named checks with a timeout each, at most one call per check in flight (a hung database
 * query is waited on again rather than stacked), results cached for HEALTH_CACHE_MS. Changes of a
 * check's state are logged once, not on every probe.
 */
export class HealthProbe {
  private readonly pending = new Map<string, Promise<void>>();
  private cached: { at: number; answer: HealthzAnswer } | undefined;
  private running: Promise<HealthzAnswer> | undefined;
  private readonly last = new Map<string, CheckState>();

  constructor(
    private readonly checks: Record<string, Check>,
    private readonly log: Logger,
    private readonly options: { timeoutMs?: number; cacheMs?: number; now?: () => number } = {},
  ) {}

  async report(): Promise<HealthzAnswer> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? HEALTH_CACHE_MS)) return this.cached.answer;
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<HealthzAnswer> {
    const names = Object.keys(this.checks);
    const states = await Promise.all(names.map((name) => this.one(name)));
    const checks = Object.fromEntries(names.map((name, i) => [name, states[i]!]));
    const answer: HealthzAnswer = { status: states.every((s) => s === 'ok') ? 'ok' : 'unavailable', checks };
    this.cached = { at: (this.options.now ?? Date.now)(), answer };
    return answer;
  }

  private async one(name: string): Promise<CheckState> {
    let call = this.pending.get(name);
    if (!call) {
      const started = this.checks[name]!().then(() => undefined);
      call = started.finally(() => this.pending.delete(name));
      // The outcome is read below; a late rejection after a timeout must not go unhandled.
      call.catch(() => undefined);
      this.pending.set(name, call);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.timeoutMs ?? HEALTH_CHECK_TIMEOUT_MS);
    });
    let state: CheckState;
    let error: unknown;
    try {
      state = await Promise.race([call.then(() => 'ok' as const), timeout]);
    } catch (err) {
      state = 'failed';
      error = err;
    } finally {
      clearTimeout(timer);
    }
    const before = this.last.get(name);
    if (state !== before) {
      this.last.set(name, state);
      if (state === 'ok') {
        if (before !== undefined) this.log.info('health check recovered', { check: name });
      } else {
        this.log.warn('health check failing', { check: name, state, ...(error ? { err: error } : {}) });
      }
    }
    return state;
  }
}

/** The controller's checks: the database (`SELECT 1`) and Temporal (describe the namespace it works in). */
export function controllerHealth(options: { db: Db; temporal: ConnectionLike; namespace: string; log: Logger; timeoutMs?: number }): HealthProbe {
  const timeoutMs = options.timeoutMs ?? HEALTH_CHECK_TIMEOUT_MS;
  return new HealthProbe(
    {
      database: () => options.db.$queryRawUnsafe('SELECT 1'),
      // The deadline also ends the client's own retries of an unreachable server; describing the
      // namespace (not just a ping) also catches a namespace that is missing.
      temporal: () => options.temporal.withDeadline(Date.now() + timeoutMs, () => options.temporal.workflowService.describeNamespace({ namespace: options.namespace })),
    },
    options.log,
    { timeoutMs },
  );
}

/**
 * Answers GET/HEAD /healthz and returns true, or returns false for any other path so the caller's
 * own handler goes on. Plain node:http, so the API app, the agents' listener and the metrics
 * listener all serve the same probe.
 */
export function serveHealthz(probe: HealthProbe, req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== HEALTHZ_PATH) return false;
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(405, { error: { code: 'method_not_allowed', message: `${HEALTHZ_PATH} takes GET` } }, { allow: 'GET, HEAD' });
    return true;
  }
  probe.report().then(
    (answer) => send(answer.status === 'ok' ? 200 : 503, answer),
    // report() does not reject (every check's failure is a state); this is belt and braces.
    () => send(503, { status: 'unavailable', checks: {} }),
  );
  return true;
}

/** The same as a listener wrapper: /healthz first, anything else to `next`. */
export function withHealthz(probe: HealthProbe | undefined, next: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  if (!probe) return next;
  return (req, res) => {
    if (!serveHealthz(probe, req, res)) next(req, res);
  };
}
