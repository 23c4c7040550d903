// Every message between the hub and an agent, defined once with runtime schemas. Both sides import
// this module; nothing else defines message shapes.
import { z } from 'zod';

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
  /** The gateway was deleted or its secret rotated while connected. */
  revoked: 4004,
} as const;

const cidr = z.string().min(1);
const ip = z.string().min(1);

/** What an agent knows about where it runs. Everything optional: an agent reports what it can see. */
export const Facts = z.object({
  agentVersion: z.string(),
  hostname: z.string().optional(),
  /** Public address the agent believes it has (configured, or from cloud metadata). */
  publicIp: ip.optional(),
  /** Addresses on the agent's own interfaces (behind cloud NAT these are private). */
  localAddrs: z.array(ip).optional(),
  /** Networks the agent sees behind it (informational; the controller decides what a link carries). */
  cidrs: z.array(cidr).optional(),
  strongswanVersion: z.string().optional(),
  cloud: z
    .object({ provider: z.enum(['aliyun', 'aws']), instanceId: z.string(), region: z.string().optional() })
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

export const ChildSaState = z.object({
  name: z.string(),
  state: z.string(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  packetsIn: z.number(),
  packetsOut: z.number(),
  localTs: z.array(z.string()),
  remoteTs: z.array(z.string()),
});
export const IkeSaState = z.object({
  name: z.string(),
  state: z.string(),
  localHost: z.string().optional(),
  remoteHost: z.string().optional(),
  children: z.array(ChildSaState),
});
export type IkeSaState = z.infer<typeof IkeSaState>;

// ---- RPC methods: params and results, one entry per method -------------------------------------

export const Methods = {
  /** Load (or replace) one link's secret and connection; persists it so a restart restores it. */
  applyLink: {
    params: z.object({ link: LinkConfig }),
    result: z.object({ changed: z.boolean() }),
  },
  /** Terminate and unload one link; success when it is already gone. */
  removeLink: {
    params: z.object({ name: z.string() }),
    result: z.object({ removed: z.boolean() }),
  },
  /**
   * Bring a link's CHILD_SA up now (initiator side). With restart, an existing IKE_SA is replaced
   * (after a change it still runs on the old addresses or traffic selectors).
   */
  initiate: {
    params: z.object({ name: z.string(), timeoutMs: z.number().int().positive().max(60_000).optional(), restart: z.boolean().optional() }),
    result: z.object({ established: z.boolean() }),
  },
  /** The agent's view of its tunnels, straight from charon. */
  status: {
    params: z.object({}),
    result: z.object({ sas: z.array(IkeSaState), links: z.array(z.string()) }),
  },
  /** Drop every link the agent holds that is not in `keep` (used to converge after a restart). */
  reconcile: {
    params: z.object({ keep: z.array(z.string()) }),
    result: z.object({ removed: z.array(z.string()) }),
  },
} as const;
export type Method = keyof typeof Methods;
export type Params<M extends Method> = z.infer<(typeof Methods)[M]['params']>;
export type Result<M extends Method> = z.infer<(typeof Methods)[M]['result']>;
export const methodNames = Object.keys(Methods) as [Method, ...Method[]];

// ---- frames ------------------------------------------------------------------------------------

export const RpcError = z.object({ code: z.string(), message: z.string() });
export type RpcError = z.infer<typeof RpcError>;

/** Hub → agent. */
export const HubFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), protocol: z.number(), gatewayId: z.string(), heartbeatMs: z.number() }),
  z.object({ type: z.literal('request'), id: z.string(), method: z.enum(methodNames), params: z.unknown() }),
]);
export type HubFrame = z.infer<typeof HubFrame>;

/** Agent → hub. */
export const AgentFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocol: z.number(), facts: Facts }),
  z.object({ type: z.literal('facts'), facts: Facts }),
  z.discriminatedUnion('ok', [
    z.object({ type: z.literal('response'), id: z.string(), ok: z.literal(true), result: z.unknown() }),
    z.object({ type: z.literal('response'), id: z.string(), ok: z.literal(false), error: RpcError }),
  ]),
  z.object({
    type: z.literal('tunnel'),
    /** Connection name (link-<id>). */
    name: z.string(),
    up: z.boolean(),
    /** Why, in charon's words when known (e.g. "child-updown"). */
    reason: z.string().optional(),
    at: z.string(),
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

/** Authentication header the agent sends on the upgrade request. */
export const authHeader = (gatewayId: string, secret: string): string => `Bearer ${gatewayId}:${secret}`;
export function parseAuthHeader(value: string | undefined): { gatewayId: string; secret: string } | undefined {
  const m = /^Bearer ([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{16,128})$/.exec(value ?? '');
  return m ? { gatewayId: m[1]!, secret: m[2]! } : undefined;
}

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
