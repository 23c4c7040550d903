// What the API handlers need, built once in the controller entry point.
import type { CloudProviderName } from '../cloud/types';
import type { Db } from '../db';
import type { ChangeFeed, Store } from '../store';
import type { Logger } from '../lib/log';
import type { SecretKey } from '../lib/crypto';
import type { ViewContext } from './views';
import type { HealthProbe } from './health';

/** The API's handle on link workflows (Temporal in production). */
export interface LinkOrchestrator {
  /** Starts the link's entity workflow; throws when the workflow service is unreachable. */
  start(linkId: string, workflowId: string): Promise<void>;
  /**
   * Tells the workflow to tear the link down (the API recorded the intent first); throws when
   * Temporal is unreachable. A repeat is harmless.
   */
  requestDelete(workflowId: string): Promise<void>;
  /**
   * Tells the link's workflow that what it carries changed in the database (its CIDRs, or its PSK
   * after a rotation, `reason: 'key'`); throws when Temporal is unreachable.
   */
  reconfigure(workflowId: string, reason?: 'cidrs' | 'key' | 'endpoint'): Promise<void>;
  /** Starts discovery of a cloud gateway from its public IP. */
  startDiscovery(gatewayId: string, ref: { provider: CloudProviderName; accountId: string; region: string }, publicIp: string): Promise<void>;
  /** Ends a deleted cloud gateway's discovery (and instance-follow) workflows if they run; absent: nothing runs them. */
  stopDiscovery?(gatewayId: string): Promise<void>;
}

export interface ApiContext {
  store: Store;
  log: Logger;
  secretKey: SecretKey;
  links: LinkOrchestrator;
  view: () => ViewContext;
  /** Bearer token every /api request must carry; unset only on a loopback listener. */
  apiToken?: string;
  /** Host header values the API answers (DNS-rebinding guard); "*" or unset: any. */
  allowedHosts?: string[];
  /** Cloud endpoint overrides accepted on accounts beyond the providers' own domains (CLOUD_ENDPOINT_ALLOW). */
  cloudEndpointAllow: string[];
  /** Failed API authentications allowed per source address (IPv6: per /64) and window; default 10 per 60 s. */
  authFailureLimit?: { failures: number; windowSeconds: number };
  /** Time for expiries and key rotations; default the system clock. */
  clock?: () => Date;
  /** The process's change feed (GET /api/events); without it the event stream answers 503. */
  changes?: ChangeFeed;
  /**
   * The URL agents dial, for the answers that hand out an agent secret; given the hostname the API
   * was reached by. Undefined when this controller does not know (no hub role, no AGENT_PUBLIC_URL).
   */
  agentUrl?: (requestHostname: string) => string | undefined;
  /** Where the built console is (default web/dist beside the code). */
  consoleDir?: string;
  /** GET /healthz (api/health.ts); default: the database alone (an API built without Temporal). */
  health?: HealthProbe;
}

/** What createApi is given: the context, with the database the API's store is opened over. */
export type ApiOptions = Omit<ApiContext, 'store'> & { db: Db };
