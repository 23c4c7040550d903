// The messages of GET /api/events (Server-Sent Events, api/events.ts): each has an `id:` (the
// change log's sequence number, for Last-Event-ID), an `event:` line naming its kind and a `data:`
// line holding the JSON below.
import { z } from 'zod';
import { Gateway } from './gateways';
import { Link, LinkEvent } from './links';

/** First message of a fresh stream: where it starts. */
export const HelloEvent = z.strictObject({ cursor: z.string().meta({ description: 'The change log position the stream starts after' }) }).meta({ id: 'HelloEvent' });
/** A gateway's current state; null when it was deleted. */
export const GatewayEvent = z.strictObject({ id: z.string(), gateway: Gateway.nullable() }).meta({ id: 'GatewayEvent' });
/** A link's current state; null when it is gone. */
export const LinkChangeEvent = z.strictObject({ id: z.string(), link: Link.nullable() }).meta({ id: 'LinkChangeEvent' });
/** A new entry in a link's history. */
export const LinkEventEvent = z.strictObject({ linkId: z.string(), event: LinkEvent }).meta({ id: 'LinkEventEvent' });
/** The stream cannot say what changed (resumed too far back, or a batch failed): refetch everything. */
export const ResyncEvent = z.strictObject({}).meta({ id: 'ResyncEvent' });

const message = <K extends string, T extends z.ZodType>(event: K, data: T) => z.strictObject({ event: z.literal(event), data });

export const EventMessage = z
  .discriminatedUnion('event', [
    message('hello', HelloEvent),
    message('gateway', GatewayEvent),
    message('link', LinkChangeEvent),
    message('link-event', LinkEventEvent),
    message('resync', ResyncEvent),
  ])
  .meta({
    id: 'EventMessage',
    description: 'One Server-Sent Events message: its `event:` line is `event` below, its `data:` line the JSON `data`; its `id:` line the cursor to resume from',
  });
export type EventMessage = z.infer<typeof EventMessage>;
