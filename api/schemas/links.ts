// /api/links: the request bodies the routes validate with (parseBody) and the answers they give.
// The OpenAPI document is generated from these same schemas (api/openapi/).
import { z } from 'zod';
import { allowDefaultRoute, cidrList } from '../cidr-fields';
import { Timestamp } from './common';

const Cidrs = cidrList.meta({ description: 'CIDRs (IPv4 or IPv6), canonicalised; no overlaps within the list' });

export const CreateLink = z
  .strictObject({
    a: z.string().min(1, { error: 'expected a gateway id' }),
    b: z.string().min(1, { error: 'expected a gateway id' }),
    cidrs: z.strictObject({ a: Cidrs.optional(), b: Cidrs.optional() }).optional().meta({ description: 'Networks the link carries at each end; default: each gateway\'s networks' }),
    allowDefaultRoute: allowDefaultRoute.meta({ description: 'Let 0.0.0.0/0 or ::/0 in (all traffic of the family through the tunnel)' }),
  })
  .meta({ id: 'CreateLink' });

/** PATCH /api/links/:id and POST /api/links/:id/plan: the networks the link carries at each end. */
export const ChangeLink = z
  .strictObject({
    cidrs: z
      .strictObject({ a: Cidrs.optional(), b: Cidrs.optional() })
      .refine((c) => c.a !== undefined || c.b !== undefined, { error: 'give cidrs.a, cidrs.b or both' }),
    allowOutsideNetworks: z.boolean().optional().meta({ description: 'Allow CIDRs outside the gateway\'s networks (networks routed behind it)' }),
    allowDefaultRoute: allowDefaultRoute.meta({ description: 'Let 0.0.0.0/0 or ::/0 in (all traffic of the family through the tunnel)' }),
  })
  .meta({ id: 'ChangeLink' });

/** POST /api/links/:id/rotate-key takes no options (an empty object, or no body). */
export const RotateKey = z.strictObject({}).meta({ id: 'RotateKey' });

export const LinkState = z
  .enum(['provisioning', 'up', 'updating', 'degraded', 'failed', 'deleting', 'deleted'])
  .meta({ id: 'LinkState', description: 'provisioning → up; updating while a change applies; degraded or failed with a reason; deleting → deleted' });

export const EndDataPlane = z
  .strictObject({
    measuredAt: Timestamp.meta({ description: 'When the agent took these figures' }),
    installed: z.boolean().meta({ description: 'A CHILD_SA of the link is installed at this end' }),
    bytesIn: z.number().nonnegative().meta({ description: 'Bytes received through the tunnel (the current CHILD_SAs; a rekey starts them again)' }),
    bytesOut: z.number().nonnegative(),
    packetsIn: z.number().nonnegative(),
    packetsOut: z.number().nonnegative(),
    lastInAt: Timestamp.nullable().meta({ description: 'When the last packet came in through the tunnel' }),
    lastOutAt: Timestamp.nullable(),
    lastTrafficAt: Timestamp.nullable().meta({ description: 'The later of lastInAt and lastOutAt' }),
    rttP50Ms: z.number().nonnegative().nullable().meta({ description: 'Median round-trip time of the probes through the tunnel over the last minute, milliseconds' }),
    establishedAt: Timestamp.nullable().meta({ description: 'When the current CHILD_SA was installed' }),
    rekeyAt: Timestamp.nullable().meta({ description: 'When the CHILD_SA is due to be rekeyed' }),
    probes: z
      .strictObject({ sent: z.int(), answered: z.int(), failStreak: z.int().meta({ description: 'Report intervals in a row without an answer' }) })
      .nullable()
      .meta({ description: 'Probes of the peer gateway\'s inner address in the latest interval; null when this end does not probe (yet)' }),
  })
  .meta({ id: 'EndDataPlane', description: 'Data-plane figures of one end, from its agent (strongSwan counters and probes through the tunnel)' });
export type EndDataPlaneView = z.infer<typeof EndDataPlane>;

export const LinkEnd = z
  .strictObject({
    id: z.string().meta({ description: 'The gateway\'s id' }),
    name: z.string(),
    cidrs: z.array(z.string()).meta({ description: 'The networks the link carries at this end' }),
    tunnelUp: z.boolean(),
    dataPlane: EndDataPlane.nullable().optional().meta({ description: 'Latest data-plane figures of this end (GET answers); null before the first report' }),
  })
  .meta({ id: 'LinkEnd' });

export const LinkEvent = z
  .strictObject({
    at: Timestamp,
    type: z.string().meta({ description: 'Machine-readable kind, e.g. config.pushed, tunnel.up, failed' }),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'LinkEvent' });

export const Link = z
  .strictObject({
    id: z.string(),
    state: LinkState,
    stateReason: z.string().nullable(),
    a: LinkEnd,
    b: LinkEnd,
    workflowId: z.string(),
    workflowUrl: z.string().nullable().meta({ description: 'The link\'s workflow in the Temporal Web UI, when its URL is configured' }),
    keyVersion: z.int().meta({ description: 'Which pre-shared key the link uses (counts rotations); the key never leaves the controller' }),
    keyRotatedAt: Timestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    deletedAt: Timestamp.nullable(),
    deleteRequestedAt: Timestamp.nullable().meta({ description: 'When the operator\'s DELETE was accepted' }),
  })
  .meta({ id: 'Link' });
export type LinkView = z.infer<typeof Link>;

export const LinkWithEvents = Link.extend({ events: z.array(LinkEvent).meta({ description: 'The link\'s history, oldest first' }) }).meta({ id: 'LinkWithEvents' });
export type LinkWithEventsView = z.infer<typeof LinkWithEvents>;

export const LinkList = z.strictObject({ links: z.array(Link) }).meta({ id: 'LinkList' });

const GatewayRef = z.strictObject({ id: z.string(), name: z.string() });
const Kept = z.string().optional().meta({ description: 'Why it stays when the link goes' });
export const Teardown = z
  .strictObject({
    linkId: z.string(),
    routes: z.array(
      z.strictObject({ gateway: GatewayRef, routeTableId: z.string(), destinationCidr: z.string(), instanceId: z.string(), removed: z.boolean(), keptBecause: Kept }),
    ).meta({ description: 'Routes the link holds, in the route tables of its cloud ends' }),
    rules: z.array(
      z.strictObject({ gateway: GatewayRef, securityGroupId: z.string(), peerIp: z.string(), removed: z.boolean(), keptBecause: Kept }),
    ).meta({ description: 'Security-group rules letting the peer in (IKE/NAT-T)' }),
  })
  .meta({ id: 'Teardown' });
export type TeardownView = z.infer<typeof Teardown>;
export type LinkListView = z.infer<typeof LinkList>;

/** An end's IPsec config as its agent gets it, without the key and the version. */
export const TunnelConfig = z
  .strictObject({
    name: z.string(),
    localId: z.string(),
    remoteId: z.string(),
    localAddrs: z.array(z.string()),
    remoteAddrs: z.array(z.string()),
    localTs: z.array(z.string()).meta({ description: 'Traffic selectors of this end' }),
    remoteTs: z.array(z.string()).meta({ description: 'Traffic selectors of the peer' }),
    initiator: z.boolean(),
  })
  .meta({ id: 'TunnelConfig' });

export const Route = z.strictObject({ routeTableId: z.string(), destinationCidr: z.string(), instanceId: z.string() }).meta({ id: 'Route' });
export const SecurityGroupRule = z.strictObject({ securityGroupId: z.string(), peerIp: z.string(), description: z.string() }).meta({ id: 'SecurityGroupRule' });

const Before = <T extends z.ZodType>(item: T) => z.strictObject({ before: item, after: item });

export const ChangePreviewEnd = z
  .strictObject({
    gateway: z.strictObject({ id: z.string(), name: z.string() }),
    cidrs: Before(z.array(z.string())),
    config: z.strictObject({ changed: z.boolean(), before: TunnelConfig, after: TunnelConfig }),
    routes: z.strictObject({ add: z.array(Route), remove: z.array(Route) }).meta({ description: 'Cloud routes added and removed (none for on-prem ends)' }),
    securityGroupRules: z.strictObject({ add: z.array(SecurityGroupRule), remove: z.array(SecurityGroupRule) }),
  })
  .meta({ id: 'ChangePreviewEnd' });

export const ChangePreview = z
  .strictObject({
    changed: z.boolean(),
    summary: z.string().meta({ description: 'The change in words' }),
    tunnelRestart: z.boolean().meta({ description: 'Whether the tunnel is re-negotiated with new traffic selectors' }),
    a: ChangePreviewEnd,
    b: ChangePreviewEnd,
  })
  .meta({ id: 'ChangePreview' });
export type ChangePreviewView = z.infer<typeof ChangePreview>;

export const ChangedLink = Link.extend({ plan: ChangePreview }).meta({ id: 'ChangedLink' });
export type ChangedLinkView = z.infer<typeof ChangedLink>;
