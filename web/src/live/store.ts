// The live mesh: opens the event stream first, then fetches the lists, then applies what the
// stream delivered meanwhile and everything after, so no change is missed. Without an event
// stream (GET /api/events answers 404) it polls every 2 s instead.
import { apiClient, ApiError, type ApiClient } from '../api/client';
import { authHeaders, tokenRejected } from '../api/auth';
import type { Gateway, Link } from '../api/types';
import { openEventStream, type StreamStatus } from './sse';
import { applyEvents, emptyMesh, parseStreamEvent, removeGateway, replaceAll, upsertGateway, upsertLink, withLinkDetail, type MeshState, type StreamEvent } from './reducer';

export type LiveMode = 'connecting' | 'live' | 'reconnecting' | 'polling';

export interface LiveState {
  mesh: MeshState;
  /** The lists were fetched at least once. */
  loaded: boolean;
  /** Why the last fetch failed (shown until one succeeds). */
  error: string | undefined;
  mode: LiveMode;
}

export const POLL_MS = 2000;

export class LiveStore {
  private state: LiveState = { mesh: emptyMesh, loaded: false, error: undefined, mode: 'connecting' };
  private listeners = new Set<() => void>();
  /** Messages that arrived while the lists were being fetched; applied after them. */
  private pending: StreamEvent[] | undefined;
  private stopStream: (() => void) | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private fetching: Promise<void> | undefined;
  private openLinks = new Map<string, number>();

  constructor(
    private readonly api: ApiClient = apiClient,
    private readonly options: { eventsUrl?: string; fetch?: typeof fetch; backoffMs?: number; unavailableMs?: number } = {},
  ) {}

  getState = (): LiveState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<LiveState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }

  private setMesh(mesh: MeshState): void {
    if (mesh !== this.state.mesh) this.set({ mesh });
  }

  start(): void {
    if (this.stopStream || this.pollTimer) return;
    this.pending = [];
    let fetched = false;
    const fetchOnce = () => {
      if (fetched) return;
      fetched = true;
      void this.refresh();
    };
    this.stopStream = openEventStream({
      url: this.options.eventsUrl ?? '/api/events',
      headers: authHeaders,
      fetch: this.options.fetch,
      backoffMs: this.options.backoffMs,
      unavailableMs: this.options.unavailableMs,
      onUnauthorized: tokenRejected,
      onMessage: (message) => {
        const event = parseStreamEvent(message.event, message.data);
        if (!event) return;
        if (event.type === 'hello') fetchOnce();
        else if (event.type === 'resync') void this.refresh();
        else if (this.pending) this.pending.push(event);
        else this.setMesh(applyEvents(this.state.mesh, [event]));
      },
      onStatus: (status: StreamStatus) => {
        if (status === 'unsupported' || status === 'unavailable') {
          if (status === 'unsupported') this.stopStream = undefined;
          this.startPolling();
          fetchOnce();
          return;
        }
        if (status === 'open') {
          // A stream that opens after polling: it carries the changes from now on (after one refetch).
          if (this.pollTimer) {
            this.stopPolling();
            if (fetched) void this.refresh();
          }
          this.set({ mode: 'live' });
          fetchOnce();
        } else if (status === 'reconnecting') {
          this.set({ mode: 'reconnecting' });
          // The lists still load when the stream is down from the start.
          fetchOnce();
        }
      },
    });
  }

  stop(): void {
    this.stopStream?.();
    this.stopStream = undefined;
    this.stopPolling();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private startPolling(): void {
    this.set({ mode: 'polling' });
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      void this.refresh();
      for (const id of this.openLinks.keys()) void this.loadLink(id).catch(() => undefined);
    }, POLL_MS);
  }

  /** Fetches both lists (once at a time), then applies what the stream delivered meanwhile. */
  refresh(): Promise<void> {
    if (this.fetching) return this.fetching;
    this.pending ??= [];
    this.fetching = (async () => {
      try {
        const [gateways, links] = await Promise.all([this.api.listGateways(), this.api.listLinks()]);
        const buffered = this.pending ?? [];
        this.pending = undefined;
        this.set({ mesh: applyEvents(replaceAll(this.state.mesh, gateways, links), buffered), loaded: true, error: undefined });
      } catch (err) {
        const buffered = this.pending ?? [];
        this.pending = undefined;
        this.set({ mesh: applyEvents(this.state.mesh, buffered), error: err instanceof ApiError || err instanceof Error ? err.message : String(err) });
      } finally {
        this.fetching = undefined;
      }
    })();
    return this.fetching;
  }

  /** Reads one link with its events; its timeline then follows the stream while the page is open. */
  async loadLink(id: string): Promise<Link> {
    const link = await this.api.getLink(id);
    this.setMesh(withLinkDetail(this.state.mesh, link));
    return link;
  }

  /** A link page opened (its timeline is kept, and polled without a stream); returns its closer. */
  watchLink(id: string): () => void {
    this.openLinks.set(id, (this.openLinks.get(id) ?? 0) + 1);
    return () => {
      const n = (this.openLinks.get(id) ?? 1) - 1;
      if (n > 0) this.openLinks.set(id, n);
      else this.openLinks.delete(id);
    };
  }

  /** What an API answer just told us (a link created, a gateway registered), before the stream says it. */
  linkChanged(link: Link): void {
    this.setMesh(upsertLink(this.state.mesh, link));
  }
  gatewayChanged(gateway: Gateway): void {
    this.setMesh(upsertGateway(this.state.mesh, gateway));
  }
  gatewayRemoved(id: string): void {
    this.setMesh(removeGateway(this.state.mesh, id));
  }
}

export const liveStore = new LiveStore();
