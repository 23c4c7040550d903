// GET /api/events: Server-Sent Events for the console. Every message carries the change log's
// sequence number as its id; a client that reconnects with Last-Event-ID gets every change after
// it (or `resync` when the log no longer reaches back that far). One ChangeFeed per process feeds
// every stream: each batch is rendered once (current state of each changed gateway and link, new
// link events) and written to all clients.
import { Router, type Response } from 'express';
import { unavailable } from '../lib/errors';
import type { ChangeFeed, ChangeRow, Store } from '../store';
import type { Logger } from '../lib/log';
import type { ApiContext } from './context';
import { gatewayView, linkView, type ViewContext } from './views';

const KEEPALIVE_MS = 15_000;
/** A client this far behind (bytes queued in its socket) is cut off; it resumes with Last-Event-ID. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const CATCH_UP_CHUNK = 1000;

interface Message {
  id: number;
  text: string;
}

interface Client {
  readonly res: Response;
  /** Messages up to this id are the client's already. */
  after: number;
  /** Catching up: live messages wait in `held`. */
  live: boolean;
  held: Message[];
}

const frame = (id: number, event: string, data: unknown): Message => ({ id, text: `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n` });

/**
 * The messages for some change rows: one per gateway and link (its latest state; rows about the
 * same entity fold into the last one, whose id the message takes) and one per link event, in
 * id order.
 */
export async function renderChanges(rows: readonly ChangeRow[], store: Store, view: ViewContext): Promise<Message[]> {
  const latest = new Map<string, ChangeRow>();
  const events: ChangeRow[] = [];
  for (const row of rows) {
    if (row.kind === 'link-event') events.push(row);
    else latest.set(`${row.kind}|${row.entityId}`, row);
  }
  const entities = [...latest.values()];
  const gatewayIds = entities.filter((row) => row.kind === 'gateway').map((row) => row.entityId);
  const linkIds = entities.filter((row) => row.kind === 'link').map((row) => row.entityId);
  const [gateways, links, linkEvents] = await Promise.all([
    store.gateways.getMany(gatewayIds),
    Promise.all(linkIds.map((id) => store.links.withEnds(id))),
    store.changes.linkEvents(events.flatMap((row) => (row.eventId === null ? [] : [row.eventId]))),
  ]);
  const gatewayById = new Map(gateways.map((gateway) => [gateway.id, gateway]));
  const linkById = new Map(links.flatMap((link) => (link ? [[link.id, link] as const] : [])));
  const eventById = new Map(linkEvents.map((event) => [event.id, event]));
  const messages: Message[] = [];
  for (const row of [...entities, ...events].sort((x, y) => x.seq - y.seq)) {
    if (row.kind === 'gateway') {
      const gateway = gatewayById.get(row.entityId);
      messages.push(frame(row.seq, 'gateway', { id: row.entityId, gateway: gateway ? gatewayView(gateway, view) : null }));
    } else if (row.kind === 'link') {
      const link = linkById.get(row.entityId);
      messages.push(frame(row.seq, 'link', { id: row.entityId, link: link ? linkView(link, view) : null }));
    } else {
      // An event whose link is gone since (its gateway was deleted) has nothing left to show.
      const event = row.eventId === null ? undefined : eventById.get(row.eventId);
      if (event) messages.push(frame(row.seq, 'link-event', { linkId: event.linkId, event: { at: event.at.toISOString(), type: event.type, message: event.message, data: event.data } }));
    }
  }
  return messages;
}

/** The process's streams over one feed: one render per batch, written to every client. */
class EventStreams {
  private readonly clients = new Set<Client>();
  /** Every batch up to here has been written to the clients (or there were none to write to). */
  private renderedThrough: number;
  private chain = Promise.resolve();
  private readonly keepalive: NodeJS.Timeout;

  constructor(
    readonly feed: ChangeFeed,
    private readonly view: () => ViewContext,
    private readonly log: Logger,
  ) {
    this.renderedThrough = feed.cursor;
    feed.subscribe({ batch: (batch) => this.onBatch(batch.rows, batch.through), closed: () => this.closeAll() });
    this.keepalive = setInterval(() => {
      for (const client of this.clients) this.write(client, ': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** A new client, holding live messages until start() (see serve). Its cursor is where those begin. */
  join(res: Response): { client: Client; cursor: number } {
    const client: Client = { res, after: this.renderedThrough, live: false, held: [] };
    this.clients.add(client);
    return { client, cursor: this.renderedThrough };
  }

  leave(client: Client): void {
    this.clients.delete(client);
  }

  /** Writes what the client missed between `after` and `through` (exclusive, inclusive). */
  async catchUp(client: Client, after: number, through: number): Promise<void> {
    let from = after;
    while (from < through && this.clients.has(client)) {
      const { rows } = await this.feed.records.after(from, CATCH_UP_CHUNK);
      const upTo = rows.filter((row) => row.seq <= through);
      if (upTo.length === 0) break;
      for (const message of await renderChanges(upTo, this.feed.store, this.view())) this.write(client, message.text);
      from = upTo[upTo.length - 1]!.seq;
      if (upTo.length < rows.length) break;
    }
  }

  /** From now on the client gets live messages, first those held while it caught up. */
  start(client: Client): void {
    client.live = true;
    for (const message of client.held.splice(0)) if (message.id > client.after) this.write(client, message.text);
  }

  send(client: Client, message: Message): void {
    this.write(client, message.text);
  }

  private onBatch(rows: ChangeRow[], through: number): void {
    this.chain = this.chain.then(async () => {
      if (this.clients.size > 0) {
        let messages: Message[];
        try {
          messages = await renderChanges(rows, this.feed.store, this.view());
        } catch (err) {
          // The clients cannot be given this batch: they refetch everything instead.
          this.log.warn('event stream: could not render changes; clients resync', { err });
          messages = [frame(through, 'resync', {})];
        }
        for (const client of this.clients) {
          for (const message of messages) {
            if (message.id <= client.after) continue;
            if (client.live) this.write(client, message.text);
            else client.held.push(message);
          }
        }
      }
      this.renderedThrough = through;
    });
  }

  private write(client: Client, text: string): void {
    const { res } = client;
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > MAX_QUEUED_BYTES) {
      this.log.warn('event stream: client too slow; closing its stream (it resumes with Last-Event-ID)');
      this.clients.delete(client);
      res.end();
      return;
    }
    res.write(text);
  }

  private closeAll(): void {
    clearInterval(this.keepalive);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }
}

/** A Last-Event-ID as a cursor; undefined when it is not one of ours. */
function parseCursor(raw: string): number | undefined {
  if (!/^\d{1,15}$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

export function eventRoutes(ctx: ApiContext): Router {
  const r = Router();
  const streams = ctx.changes ? new EventStreams(ctx.changes, ctx.view, ctx.log) : undefined;

  r.get('/', async (req, res) => {
    if (!streams) throw unavailable('live updates are not available on this controller');
    const header = req.get('last-event-id');
    const query = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
    const resume = header ?? query;
    // setHeader, not res.set: Express would add a charset to the type.
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.setHeader('Connection', 'keep-alive');
    res.flushHeaders();
    res.write('retry: 1000\n\n');
    const { client, cursor } = streams.join(res);
    req.on('close', () => streams.leave(client));
    const resync = () => streams.send(client, frame(cursor, 'resync', {}));
    try {
      if (resume === undefined || resume === '') {
        streams.send(client, frame(cursor, 'hello', { cursor: String(cursor) }));
      } else {
        const last = parseCursor(resume);
        if (last === undefined) {
          resync();
        } else if (last > cursor) {
          // Another controller may be ahead of this one by a moment; an id beyond the log is not ours.
          if (last > (await streams.feed.records.latest()).seq) resync();
          else client.after = last;
        } else if (last < cursor) {
          const oldest = await streams.feed.records.oldest();
          if (oldest === undefined || last < oldest - 1) resync();
          else await streams.catchUp(client, last, cursor);
        }
      }
    } catch (err) {
      ctx.log.warn('event stream: could not catch a client up; it resyncs', { err });
      resync();
    }
    streams.start(client);
  });

  return r;
}
