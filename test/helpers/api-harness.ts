// createApi on a real loopback listener with a real SQLite database and a recording stand-in for
// Temporal: for API security tests that need no workflow, only what the API does over HTTP.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApi } from '../../api/app';
import type { ApiContext, LinkOrchestrator } from '../../api/context';
import { newSecretKey, parseSecretKey, type SecretKey } from '../../lib/crypto';
import type { Logger } from '../../lib/log';
import { createSqliteTestDb, type TestDb } from './db';
import type { z } from 'zod';
import type { ApiError } from '../../api/schemas/common';
import type { AuditList } from '../../api/schemas/audit';
import type { CloudAccount } from '../../api/schemas/cloud-accounts';
import type { EnrolmentToken, Gateway, GatewayList, RegisteredGateway, UpdatedGateway } from '../../api/schemas/gateways';
import type { ChangedLink, ChangePreview, Link, LinkList, LinkWithEvents, Teardown } from '../../api/schemas/links';

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line (tests read what was logged, and check no secret is in it). */
export function recordingLogger(lines: LogLine[], base: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, fields: { ...base, ...fields } });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => recordingLogger(lines, { ...base, ...f }) };
}

/** Every log line as text, errors included by name and message (what a JSON log would show). */
export const logText = (lines: LogLine[]): string =>
  JSON.stringify(lines, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v));

/** The orchestrator calls the API made; `fail` makes the named call throw (Temporal unreachable). */
export interface FakeLinks extends LinkOrchestrator {
  calls: Array<{ op: string; args: unknown[] }>;
  fail: Set<string>;
}

export function fakeLinks(): FakeLinks {
  const calls: FakeLinks['calls'] = [];
  const fail = new Set<string>();
  const record = (op: string) => async (...args: unknown[]) => {
    calls.push({ op, args });
    if (fail.has(op)) throw new Error(`${op}: connection refused (fake Temporal)`);
  };
  return { calls, fail, start: record('start'), requestDelete: record('requestDelete'), reconfigure: record('reconfigure'), startDiscovery: record('startDiscovery') };
}

export interface TestApi {
  url: string;
  port: number;
  db: TestDb['db'];
  logs: LogLine[];
  links: FakeLinks;
  secretKey: SecretKey;
  close(): Promise<void>;
}

export async function startTestApi(opts: Partial<Omit<ApiContext, 'db' | 'log' | 'links'>> & { wrapDb?: (db: TestDb['db']) => TestDb['db'] } = {}): Promise<TestApi> {
  const testDb = await createSqliteTestDb();
  const logs: LogLine[] = [];
  const links = fakeLinks();
  const { wrapDb, ...rest } = opts;
  const secretKey = opts.secretKey ?? parseSecretKey(newSecretKey());
  const app = createApi({
    db: wrapDb ? wrapDb(testDb.db) : testDb.db,
    log: recordingLogger(logs),
    links,
    view: () => ({ now: new Date(), presenceTtlMs: 45_000, temporalNamespace: 'default' }),
    cloudEndpointAllow: [],
    ...rest,
    secretKey,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    db: testDb.db,
    logs,
    links,
    secretKey,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await testDb.cleanup();
    },
  };
}

/**
 * The API's answers, typed from the response schemas the OpenAPI document is generated from (the
 * same file types the console: web/src/api/schema.d.ts). Test files read answers through these.
 */
export type GatewayBody = z.infer<typeof Gateway>;
export type GatewayListBody = z.infer<typeof GatewayList>;
export type UpdatedGatewayBody = z.infer<typeof UpdatedGateway>;
export type RegisteredGatewayBody = z.infer<typeof RegisteredGateway>;
export type EnrolmentTokenBody = z.infer<typeof EnrolmentToken>;
export type LinkBody = z.infer<typeof Link>;
export type LinkListBody = z.infer<typeof LinkList>;
export type LinkWithEventsBody = z.infer<typeof LinkWithEvents>;
export type ChangedLinkBody = z.infer<typeof ChangedLink>;
export type ChangePreviewBody = z.infer<typeof ChangePreview>;
export type TeardownBody = z.infer<typeof Teardown>;
export type CloudAccountBody = z.infer<typeof CloudAccount>;
export type AuditListBody = z.infer<typeof AuditList>;

type ErrorDetails = NonNullable<ApiError['error']['details']>;
/** The API's error shape; details typed as present: a test reading them expects them (and fails on their absence anyway). */
export type ErrorBody = Omit<ApiError['error'], 'details'> & { details: Required<Pick<ErrorDetails, 'fields' | 'retryAfterSeconds'>> & Record<string, unknown> };
/** A 4xx or 5xx answer of /api. */
export type ErrorResponseBody = { error: ErrorBody };

/** What tests read from an answer they have not narrowed: an error, or a created row's id and networks, or anything else. */
export type ResponseBody = { error: ErrorBody } & Pick<GatewayBody, 'id' | 'cidrs'> & Record<string, unknown>;

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (fields absent when the answer is not JSON or not of that kind). */
  json: ResponseBody;
}

/**
 * One request with full control over what goes on the wire (Host, Content-Encoding, raw bytes, the
 * source address), which fetch does not give.
 */
export async function rawRequest(
  port: number,
  req: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string; localAddress?: string; host?: string | null },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    // A chunked body carries no length (the server cannot refuse it up front).
    if (req.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] !== 'chunked') headers['content-length'] = String(Buffer.byteLength(req.body));
    // host: null sends no Host header at all (HTTP/1.0 style).
    if (req.host !== undefined && req.host !== null) headers.host = req.host;
    const r = http.request(
      { host: '127.0.0.1', port, method: req.method ?? 'GET', path: req.path, headers, setHost: req.host !== null, ...(req.localAddress ? { localAddress: req.localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: (json ?? {}) as ResponseBody });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** A JSON request (the common case). */
export const jsonRequest = (port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> =>
  rawRequest(port, {
    method,
    path,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
