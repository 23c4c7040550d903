// The console's picture of the mesh, and how each event-stream message changes it. Pure: the
// same messages give the same state, and an object that did not change keeps its identity, so
// memoised map nodes and edges re-render only for what changed.
import type { Gateway, Link, LinkEvent } from '../api/types';

export interface MeshState {
  gateways: ReadonlyMap<string, Gateway>;
  /** Live links, and deleted ones whose page is open (the map skips those). */
  links: ReadonlyMap<string, Link>;
  /** Event timelines of the links whose page was opened (others are not kept). */
  events: ReadonlyMap<string, readonly LinkEvent[]>;
}

export const emptyMesh: MeshState = { gateways: new Map(), links: new Map(), events: new Map() };

/** What /api/events sends (see the event stream's contract). */
export type StreamEvent =
  | { type: 'hello'; cursor?: unknown }
  | { type: 'gateway'; id: string; gateway: Gateway | null }
  | { type: 'link'; id: string; link: Link | null }
  | { type: 'link-event'; linkId: string; event: LinkEvent }
  | { type: 'resync' };

/** A raw stream message as a StreamEvent, or undefined for one the console does not know. */
export function parseStreamEvent(event: string, data: string): StreamEvent | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(data || '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
  switch (event) {
    case 'hello':
      return { type: 'hello', cursor: body.cursor };
    case 'resync':
      return { type: 'resync' };
    case 'gateway':
      return typeof body.id === 'string' ? { type: 'gateway', id: body.id, gateway: (body.gateway as Gateway | null | undefined) ?? null } : undefined;
    case 'link':
      return typeof body.id === 'string' ? { type: 'link', id: body.id, link: (body.link as Link | null | undefined) ?? null } : undefined;
    case 'link-event':
      return typeof body.linkId === 'string' && body.event && typeof body.event === 'object' ? { type: 'link-event', linkId: body.linkId, event: body.event as LinkEvent } : undefined;
    default:
      return undefined;
  }
}

const same = (x: unknown, y: unknown): boolean => x === y || JSON.stringify(x) === JSON.stringify(y);
const isLive = (link: Link): boolean => link.state !== 'deleted' && !link.deletedAt;
const eventKey = (e: LinkEvent): string => `${e.at}|${e.type}|${e.message}`;

/** Applies messages in order; resync is the caller's business (it refetches everything). */
export function applyEvents(state: MeshState, events: readonly StreamEvent[]): MeshState {
  let gateways: Map<string, Gateway> | undefined;
  let links: Map<string, Link> | undefined;
  let timelines: Map<string, readonly LinkEvent[]> | undefined;
  for (const e of events) {
    if (e.type === 'gateway') {
      const current = (gateways ?? state.gateways).get(e.id);
      if (e.gateway === null) {
        if (!current) continue;
        gateways ??= new Map(state.gateways);
        gateways.delete(e.id);
      } else if (!current || !same(current, e.gateway)) {
        gateways ??= new Map(state.gateways);
        gateways.set(e.id, e.gateway);
      }
    } else if (e.type === 'link') {
      const current = (links ?? state.links).get(e.id);
      // A deleted link leaves the map; its page, when open (timeline loaded), still shows it.
      if (e.link === null || (!isLive(e.link) && !(timelines ?? state.events).has(e.id))) {
        if (!current) continue;
        links ??= new Map(state.links);
        links.delete(e.id);
      } else {
        const { events: _events, ...link } = e.link;
        if (current && same(current, link)) continue;
        links ??= new Map(state.links);
        links.set(e.id, link);
      }
    } else if (e.type === 'link-event') {
      const timeline = (timelines ?? state.events).get(e.linkId);
      if (!timeline || timeline.some((x) => eventKey(x) === eventKey(e.event))) continue;
      timelines ??= new Map(state.events);
      timelines.set(e.linkId, [...timeline, e.event]);
    }
  }
  if (!gateways && !links && !timelines) return state;
  return { gateways: gateways ?? state.gateways, links: links ?? state.links, events: timelines ?? state.events };
}

/** A full refetch: keeps the objects that did not change (so their components do not re-render). */
export function replaceAll(state: MeshState, gateways: readonly Gateway[], links: readonly Link[]): MeshState {
  const nextGateways = new Map<string, Gateway>();
  for (const g of gateways) {
    const current = state.gateways.get(g.id);
    nextGateways.set(g.id, current && same(current, g) ? current : g);
  }
  const nextLinks = new Map<string, Link>();
  for (const l of links) {
    if (!isLive(l)) continue;
    const { events: _events, ...link } = l;
    const current = state.links.get(l.id);
    nextLinks.set(l.id, current && same(current, link) ? current : link);
  }
  const unchanged = nextGateways.size === state.gateways.size && nextLinks.size === state.links.size && [...nextGateways].every(([k, v]) => state.gateways.get(k) === v) && [...nextLinks].every(([k, v]) => state.links.get(k) === v);
  return unchanged ? state : { gateways: nextGateways, links: nextLinks, events: state.events };
}

/** One link read with its events (GET /api/links/:id): the link and its timeline. */
export function withLinkDetail(state: MeshState, link: Link): MeshState {
  const { events = [], ...rest } = link;
  const links = new Map(state.links);
  const current = state.links.get(link.id);
  links.set(link.id, current && same(current, rest) ? current : rest);
  const timelines = new Map(state.events);
  // Events the stream delivered while the page loaded are kept too.
  const known = new Set(events.map(eventKey));
  const extra = (state.events.get(link.id) ?? []).filter((e) => !known.has(eventKey(e)));
  timelines.set(link.id, [...events, ...extra].sort((x, y) => x.at.localeCompare(y.at)));
  return { gateways: state.gateways, links, events: timelines };
}

export const upsertLink = (state: MeshState, link: Link): MeshState => applyEvents(state, [{ type: 'link', id: link.id, link }]);
export const upsertGateway = (state: MeshState, gateway: Gateway): MeshState => applyEvents(state, [{ type: 'gateway', id: gateway.id, gateway }]);
export const removeGateway = (state: MeshState, id: string): MeshState => applyEvents(state, [{ type: 'gateway', id, gateway: null }]);
