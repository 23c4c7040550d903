// What the benchmark's processes agree on without shipping 18,000 secrets around: gateway ids and
// secrets derived from one per-run seed, and the messages the orchestrator exchanges with its
// child processes over the IPC channel.
import { createHmac } from 'node:crypto';

export const gatewayIdAt = (i: number): string => `bgw-${String(i).padStart(6, '0')}`;

/** 43 URL-safe characters, like lib/crypto randomToken(), so the hub's header check sees real shapes. */
export const secretFor = (seed: string, gatewayId: string): string => createHmac('sha256', seed).update(gatewayId).digest('base64url');

export interface RpcSummary {
  latenciesMs: number[];
  errors: Record<string, number>;
  /** How far the generator itself fell behind its schedule at worst (event-loop stalls in the hub). */
  maxIssueLagMs: number;
  durationMs: number;
}

/** Orchestrator → hub process. */
export type HubCommand = { type: 'rpc'; rate: number; seconds: number; method: 'status' } | { type: 'stats' } | { type: 'stop' };
/** Hub process → orchestrator. */
export type HubEvent =
  | { type: 'ready'; port: number }
  | { type: 'stats'; rss: number; heapUsed: number; connected: number; ready: number }
  | { type: 'rpc'; summary: RpcSummary };

/** Orchestrator → agent process. */
export type AgentsCommand = { type: 'go' } | { type: 'stop' };
/** Agent process → orchestrator. */
export type AgentsEvent =
  | { type: 'ready'; count: number }
  | { type: 'progress'; welcomed: number; connected: number; failedAttempts: number; rejected: number; served: number };
