// What the benchmark's processes agree on without shipping 18,000 secrets around: gateway ids and
// secrets derived from one per-run seed, the links between them, and the messages the orchestrator
// exchanges with its child processes over the IPC channel.
import { createHmac } from 'node:crypto';

export const gatewayIdAt = (i: number): string => `bgw-${String(i).padStart(6, '0')}`;

/** The one network behind gateway i; its agent's inner (probe) address is .1 in it. */
export const cidrAt = (i: number): string => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
export const innerAddrAt = (i: number): string => `10.${(i >> 8) & 255}.${i & 255}.1`;

/** A link id as the API issues them ("ln" + base32 characters), so connName and its pattern apply. */
export const linkIdAt = (k: number): string => `lnbench${String(k).padStart(6, '0')}`;

/**
 * The links of a fleet of n gateways: pairs (2k, 2k+1), and with an odd n the last gateway linked
 * to gateway 0 as well, so that every gateway is an end of at least one link.
 */
export function linkPairs(n: number): Array<{ k: number; a: number; b: number }> {
  const pairs = Array.from({ length: Math.floor(n / 2) }, (_, k) => ({ k, a: 2 * k, b: 2 * k + 1 }));
  if (n % 2 === 1 && n > 1) pairs.push({ k: pairs.length, a: n - 1, b: 0 });
  return pairs;
}

/** The links gateway i is an end of (what its agent reports on), with its peer. */
export function linksOfGateway(i: number, n: number): Array<{ linkId: string; peer: number }> {
  const out: Array<{ linkId: string; peer: number }> = [];
  const own = Math.floor(i / 2);
  if (2 * own + 1 < n) out.push({ linkId: linkIdAt(own), peer: i % 2 === 0 ? i + 1 : i - 1 });
  if (n % 2 === 1 && n > 1 && (i === n - 1 || i === 0)) out.push({ linkId: linkIdAt(Math.floor(n / 2)), peer: i === 0 ? n - 1 : 0 });
  return out;
}

/** 43 URL-safe characters, like lib/crypto randomToken(), so the hub's header check sees real shapes. */
export const secretFor = (seed: string, gatewayId: string): string => createHmac('sha256', seed).update(gatewayId).digest('base64url');

export interface RpcSummary {
  latenciesMs: number[];
  errors: Record<string, number>;
  /** How far the generator itself fell behind its schedule at worst (event-loop stalls in the hub). */
  maxIssueLagMs: number;
  durationMs: number;
}

/** What the hub process's health collector did so far (gateway-hub/health.ts). */
export interface HealthCounts {
  /** Health frames the hub handed to the collector. */
  frames: number;
  /** Frames whose handling finished (ok or not): frames − settled are waiting on the database. */
  settled: number;
  /** Frames whose handling failed (logged by the controller as "health report not taken"). */
  failed: number;
  /** Reports dropped by the trust check (a link the gateway is not an end of). */
  ignored: number;
  /** LinkHealth rows written, and the putMany calls (flushes) that wrote them. */
  rows: number;
  flushes: number;
  /** INSERT … ON CONFLICT statements those took (store/health.ts: one per healthRowsPerStatement rows of a call). */
  statements: number;
  /** Probe verdicts passed on (failing, or passing again). */
  verdicts: number;
  /** Link-list reads (store.links.liveWithEndsOf) and peer inner-address reads (store.health.forLinks). */
  linkReads: number;
  peerReads: number;
}

/** Orchestrator → hub process. */
export type HubCommand = { type: 'rpc'; rate: number; seconds: number; method: 'status' } | { type: 'stats' } | { type: 'stop' };
/** Hub process → orchestrator. */
export type HubEvent =
  | { type: 'ready'; port: number }
  | { type: 'stats'; rss: number; heapUsed: number; connected: number; ready: number; health: HealthCounts }
  | { type: 'rpc'; summary: RpcSummary };

/** Orchestrator → agent process: connect; report health every intervalMs (or stop reporting); exit. */
export type AgentsCommand = { type: 'go' } | { type: 'health'; intervalMs: number } | { type: 'healthStop' } | { type: 'stop' };
/** Agent process → orchestrator. */
export type AgentsEvent =
  | { type: 'ready'; count: number }
  | { type: 'progress'; welcomed: number; connected: number; failedAttempts: number; rejected: number; served: number; healthSent: number; probeTargets: number };
