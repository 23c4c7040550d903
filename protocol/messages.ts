// Every message between the hub and an agent, defined once with runtime schemas. Both sides import
// this module; nothing else defines message shapes. What an agent sends is untrusted (DESIGN §5):
// every field it reports has a shape and a size bound here, so nothing it says can grow a
// database row, a workflow payload or an API answer beyond them.
import { z } from 'zod';
import { parseCidr } from '../lib/cidr';
import { CONN_NAME_PATTERN } from './ids';

export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts; a bigger one closes the socket with CLOSE_TOO_BIG. */
export const MAX_FRAME_BYTES = 1 << 20;
/** WebSocket path the agents dial, relative to the controller's base URL. */
export const AGENT_PATH = '/agent';

/** Close codes the hub uses, so an agent (and an operator reading logs) knows why it was dropped. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** A frame that is not valid JSON or does not match the protocol. */
  malformed: 1007,
  tooBig: 1009,
  /** Another connection of the same gateway took over. */
  replaced: 4001,
  /** No hello within the allowed time. */
  helloTimeout: 4002,
  /** Heartbeats stopped. */
  heartbeatTimeout: 4003,
  /** The gateway was deleted while connected (or its credentials withdrawn). */
  revoked: 4004,
  /** The operator rotated the gateway's agent secret: this connection's secret no longer works. */
  secretRotated: 4005,
} as const;

const cidr = z.string().min(1);

// ---- bounded shapes for what agents report --------------------------------------------------------

/** Most addresses or networks one agent may list: a gateway with more is misconfigured or lying. */
export const MAX_REPORTED_ADDRS = 64;
/** Most SAs or links one status answer may carry. */
export const MAX_REPORTED_SAS = 1000;
/** An EC2 or ECS instance id: both clouds use "i-" and lower-case letters and digits. */
export const INSTANCE_ID_PATTERN = /^i-[0-9a-z]{1,40}$/;
/** A region id of either cloud: "eu-central-1", "cn-hangzhou", "us-gov-west-1". */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z0-9]{1,20}){1,4}$/;

/** Printable ASCII only, so a version string cannot carry control sequences into logs or the console. */
const printable = (max: number) => z.string().min(1).max(max).regex(/^[\x20-\x7e]*$/);
/** Any text without control characters (charon's reasons, agent error messages). */
const plainText = (max: number) => z.string().max(max).regex(/^[^\p{Cc}]*$/u);
const ipAddress = z.union([z.ipv4(), z.ipv6()]);
const reportedCidr = z
  .string()
  .max(43) // the longest IPv6 text and "/128"
  .refine((text) => {
    try {
      parseCidr(text); // strict: a network address, a prefix within the family's bits
      return true;
    } catch {
      return false;
    }
  }, 'not a CIDR network');

/** What an agent knows about where it runs. Everything optional: an agent reports what it can see. */
export const Facts = z.object({
  agentVersion: printable(64),
  hostname: z.string().regex(/^[A-Za-z0-9._-]{1,253}$/).optional(),
  /** Public address the agent believes it has (configured, or from cloud metadata). */
  publicIp: ipAddress.optional(),
  /** Addresses on the agent's own interfaces (behind cloud NAT these are private). */
  localAddrs: z.array(ipAddress).max(MAX_REPORTED_ADDRS).optional(),
  /** Networks the agent sees behind it (informational; the controller decides what a link carries). */
  cidrs: z.array(reportedCidr).max(MAX_REPORTED_ADDRS).optional(),
  strongswanVersion: printable(64).optional(),
  /**
   * How this connection reaches the controller: directly, or through an HTTP proxy (host:port,
   * never credentials). Through a proxy, the address the hub sees is the proxy's, not the site's.
   */
  connection: z
    .discriminatedUnion('via', [
      z.object({ via: z.literal('direct') }),
      z.object({ via: z.literal('proxy'), proxy: z.string().max(261).regex(/^[A-Za-z0-9.:[\]_-]+:\d{1,5}$/) }),
    ])
    .optional(),
  cloud: z
    .object({
      provider: z.enum(['aliyun', 'aws']),
      instanceId: z.string().regex(INSTANCE_ID_PATTERN),
      region: z.string().max(32).regex(REGION_PATTERN).optional(),
    })
    .optional(),
});
export type Facts = z.infer<typeof Facts>;

/** Everything a gateway needs to run one link: one IKE connection with one CHILD_SA. */
export const LinkConfig = z.object({
  /** Connection, CHILD_SA and shared-secret name (see connName). */
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** Monotonic per link; an agent ignores a config older than the one it holds. */
  version: z.number().int().nonnegative(),
  localId: z.string().min(1),
  remoteId: z.string().min(1),
  localAddrs: z.array(z.string()).min(1),
  remoteAddrs: z.array(z.string()).min(1),
  localTs: z.array(cidr).min(1),
  remoteTs: z.array(cidr).min(1),
  /** The initiating end brings the tunnel up (and back up on restart); the other end responds. */
  initiator: z.boolean(),
  psk: z.string().min(16),
});
export type LinkConfig = z.infer<typeof LinkConfig>;

// What charon says, relayed by the agent: names of any connection charon holds (not only ours),
// states, counters and traffic selectors, each bounded.
const saName = plainText(128);
const saState = plainText(32);
const counter = z.number().nonnegative();
const selectors = z.array(plainText(64)).max(MAX_REPORTED_ADDRS);
/** Ours carry one CHILD_SA each; charon's other connections rarely many more. */
const MAX_CHILD_SAS = 64;

export const ChildSaState = z.object({
  name: saName,
  state: saState,
  bytesIn: counter,
  bytesOut: counter,
  packetsIn: counter,
  packetsOut: counter,
  localTs: selectors,
  remoteTs: selectors,
  /** Seconds since the last inbound / outbound packet (charon's use-in / use-out); absent before any. */
  useIn: counter.optional(),
  useOut: counter.optional(),
  /** Seconds since the CHILD_SA was installed, and until its scheduled rekey. */
  installTime: counter.optional(),
  rekeyTime: counter.optional(),
});
export const IkeSaState = z.object({
  name: saName,
  state: saState,
  localHost: plainText(64).optional(),
  remoteHost: plainText(64).optional(),
  children: z.array(ChildSaState).max(MAX_CHILD_SAS),
});
export type IkeSaState = z.infer<typeof IkeSaState>;

/** Link names the agent lists (its own state, so ours; bounded all the same). */
const linkNames = z.array(saName).max(MAX_REPORTED_SAS);

// ---- RPC methods: params and results, one entry per method -------------------------------------

export const Methods = {
  /** Load (or replace) one link's secret and connection; persists it so a restart restores it. */
  applyLink: {
    params: z.object({ link: LinkConfig }),
    result: z.object({ changed: z.boolean() }),
  },
  /** Terminate and unload one link; success when it is already gone. */
  removeLink: {
    params: z.object({ name: z.string().min(1).max(128) }),
    result: z.object({ removed: z.boolean() }),
  },
  /**
   * Bring a link's CHILD_SA up now (initiator side). With restart, an existing IKE_SA is replaced
   * (after a change it still runs on the old addresses or traffic selectors).
   */
  initiate: {
    params: z.object({ name: z.string().min(1).max(128), timeoutMs: z.number().int().positive().max(60_000).optional(), restart: z.boolean().optional() }),
    result: z.object({ established: z.boolean() }),
  },
  /** The agent's view of its tunnels, straight from charon. */
  status: {
    params: z.object({}),
    result: z.object({ sas: z.array(IkeSaState).max(MAX_REPORTED_SAS), links: linkNames }),
  },
  /** Drop every link the agent holds that is not in `keep` (used to converge after a restart). */
  reconcile: {
    params: z.object({ keep: z.array(z.string().max(128)).max(10 * MAX_REPORTED_SAS) }),
    result: z.object({ removed: linkNames }),
  },
} as const;
export type Method = keyof typeof Methods;
export type Params<M extends Method> = z.infer<(typeof Methods)[M]['params']>;
export type Result<M extends Method> = z.infer<(typeof Methods)[M]['result']>;
export const methodNames = Object.keys(Methods) as [Method, ...Method[]];

// ---- data-plane health ----------------------------------------------------------------------------

/** Most links one health frame may carry (a gateway with more reports the first ones). */
export const MAX_HEALTH_LINKS = 1000;
/** Consecutive failed probe intervals after which an end counts as not passing traffic. */
export const PROBE_FAIL_INTERVALS = 3;

/** One link's tunnel as one end sees it, measured by the agent (VICI list-sas and its own probes). */
export const LinkHealthReport = z.object({
  /** Connection name (link-<id>). */
  name: z.string().regex(CONN_NAME_PATTERN),
  /** A CHILD_SA of the link is INSTALLED. */
  installed: z.boolean(),
  bytesIn: counter,
  bytesOut: counter,
  packetsIn: counter,
  packetsOut: counter,
  /** Seconds since the last packet in / out; absent when none passed yet. */
  idleIn: counter.optional(),
  idleOut: counter.optional(),
  /** Seconds since the CHILD_SA was installed, and until its rekey. */
  installedFor: counter.optional(),
  rekeyIn: counter.optional(),
  /** This end's own address inside its local networks (where its probe responder listens). */
  innerAddr: ipAddress.optional(),
  /** Probes to the peer's inner address; absent while the agent has no address to probe. */
  probe: z
    .object({
      sent: z.number().int().nonnegative().max(1000),
      answered: z.number().int().nonnegative().max(1000),
      /** Intervals in a row in which no probe was answered. */
      failStreak: z.number().int().nonnegative().max(1_000_000),
      /** Median round-trip time over the last minute, milliseconds. */
      rttP50Ms: z.number().nonnegative().max(600_000).optional(),
      /** Address probed (the peer's inner address, as the controller named it). */
      target: ipAddress,
    })
    .optional(),
});
export type LinkHealthReport = z.infer<typeof LinkHealthReport>;

/** Where each link's probes go: the peer's inner address, as the peer reported it and the controller checked it. */
export const ProbeTarget = z.object({ name: z.string().regex(CONN_NAME_PATTERN), addr: ipAddress });
export type ProbeTarget = z.infer<typeof ProbeTarget>;

// ---- frames ------------------------------------------------------------------------------------

export const RpcError = z.object({ code: plainText(64), message: plainText(1024) });
export type RpcError = z.infer<typeof RpcError>;

/** Hub → agent. */
export const HubFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), protocol: z.number(), gatewayId: z.string(), heartbeatMs: z.number() }),
  z.object({ type: z.literal('request'), id: z.string(), method: z.enum(methodNames), params: z.unknown() }),
  /** The answer to a health frame: every link's probe target (links without one are not probed). */
  z.object({ type: z.literal('probeTargets'), targets: z.array(ProbeTarget).max(MAX_HEALTH_LINKS) }),
]);
export type HubFrame = z.infer<typeof HubFrame>;

/** Request ids are the hub's UUIDs; a longer one cannot match a pending request anyway. */
const requestId = z.string().max(64);

/** Agent → hub. */
export const AgentFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocol: z.number().int(), facts: Facts }),
  z.object({ type: z.literal('facts'), facts: Facts }),
  z.discriminatedUnion('ok', [
    // The result is checked against its method's schema once the request is known (see Methods).
    z.object({ type: z.literal('response'), id: requestId, ok: z.literal(true), result: z.unknown() }),
    z.object({ type: z.literal('response'), id: requestId, ok: z.literal(false), error: RpcError }),
  ]),
  z.object({
    type: z.literal('tunnel'),
    /** Connection name (link-<id>, see connName). */
    name: z.string().regex(CONN_NAME_PATTERN),
    up: z.boolean(),
    /** Why, in charon's words when known (e.g. "child-updown"). */
    reason: plainText(256).optional(),
    at: z.iso.datetime({ offset: true }),
  }),
  z.object({
    type: z.literal('health'),
    /** The interval the agent measures over, so the controller can tell "3 intervals" in time. */
    intervalMs: z.number().int().positive().max(3_600_000),
    at: z.iso.datetime({ offset: true }),
    links: z.array(LinkHealthReport).max(MAX_HEALTH_LINKS),
  }),
]);
export type AgentFrame = z.infer<typeof AgentFrame>;

/** Parse one text frame; throws a ProtocolError with a short reason. */
export function parseFrame<T>(schema: z.ZodType<T>, raw: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ProtocolError('frame is not valid JSON');
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new ProtocolError(`frame does not match the protocol: ${z.prettifyError(r.error).slice(0, 200)}`);
  return r.data;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

// ---- the agent listener's HTTP surface ------------------------------------------------------------
// Answers an agent must handle, on the upgrade and on enrolment alike:
//   401: credentials refused (unknown gateway, wrong secret, bad token): final, do not retry.
//   429 + Retry-After (delay-seconds): too many failed authentications from this address; retry then.
//   503 (+ Retry-After when known): the controller is busy or stopping; retry with backoff.

/** Authentication header the agent sends on the upgrade request. */
export const authHeader = (gatewayId: string, secret: string): string => `Bearer ${gatewayId}:${secret}`;
export function parseAuthHeader(value: string | undefined): { gatewayId: string; secret: string } | undefined {
  const m = /^Bearer ([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{16,128})$/.exec(value ?? '');
  return m ? { gatewayId: m[1]!, secret: m[2]! } : undefined;
}

/** Where an agent exchanges a one-time enrolment token for its secret (POST, no body needed). */
export const ENROL_PATH = `${AGENT_PATH}/enrol`;
/** Authentication header of an enrolment request; the token is randomToken() text (43 characters). */
export const enrolHeader = (gatewayId: string, token: string): string => `Enrol ${gatewayId}:${token}`;
export function parseEnrolHeader(value: string | undefined): { gatewayId: string; token: string } | undefined {
  const m = /^Enrol ([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  return m ? { gatewayId: m[1]!, token: m[2]! } : undefined;
}
/** The 200 answer to an enrolment: the gateway's new secret, shown this once. */
export const EnrolAnswer = z.object({ gatewayId: z.string(), secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
export type EnrolAnswer = z.infer<typeof EnrolAnswer>;

/** A close reason within the WebSocket limit of 123 UTF-8 bytes (longer ones make ws throw). */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

/** Text of a received WebSocket message, however ws delivered it (Buffer, fragments, ArrayBuffer). */
export function frameText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
