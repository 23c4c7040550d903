// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, so the
// console reads GET /api/events as a stream and parses it here (the WHATWG event-stream format).

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Incremental event-stream parser: feed it text as it arrives, in chunks split anywhere. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The last id seen (kept across messages, as the spec says), to resume with Last-Event-ID. */
  lastEventId: string | undefined;

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    // A CR at the very end may be half of a CRLF: keep it until the next chunk says.
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    if (this.id !== undefined) this.lastEventId = this.id;
    const hasData = this.data.length > 0;
    const message: SseMessage = { event: this.event || 'message', data: this.data.join('\n'), ...(this.lastEventId !== undefined ? { id: this.lastEventId } : {}) };
    this.data = [];
    this.event = '';
    this.id = undefined;
    return hasData ? message : undefined;
  }
}

export type StreamStatus = 'connecting' | 'open' | 'reconnecting' | 'unavailable' | 'unsupported';

export interface StreamOptions {
  url: string;
  headers: () => Record<string, string>;
  onMessage: (message: SseMessage) => void;
  onStatus: (status: StreamStatus, detail?: string) => void;
  /** The stream answered 401: the token is missing or wrong (it is retried with the next one). */
  onUnauthorized?: () => void;
  /** Delay before reconnecting after an error (1 s). */
  backoffMs?: number;
  /** Delay before asking again after a 503 (live updates off on that controller): 15 s. */
  unavailableMs?: number;
  fetch?: typeof fetch;
}

/**
 * Reads the stream until stopped; after an error or the server closing it, reconnects with the
 * last event id in Last-Event-ID. A 404 means the controller has no event stream (the caller
 * polls instead); a 503 that it has none right now (the caller polls until it opens). Returns a
 * function that stops it.
 */
export function openEventStream(options: StreamOptions): () => void {
  const controller = new AbortController();
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const backoff = options.backoffMs ?? 1000;
  let lastEventId: string | undefined;

  const run = async (): Promise<void> => {
    let first = true;
    while (!controller.signal.aborted) {
      options.onStatus(first ? 'connecting' : 'reconnecting');
      first = false;
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream', ...options.headers() };
        if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
        const response = await doFetch(options.url, { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status === 404) {
          options.onStatus('unsupported', 'the controller has no event stream (GET /api/events answered 404)');
          return;
        }
        if (response.status === 503) {
          // This controller cannot stream now: the caller polls meanwhile; ask again later.
          options.onStatus('unavailable', `GET ${options.url} answered 503`);
          await new Promise((resolve) => setTimeout(resolve, options.unavailableMs ?? 15_000));
          continue;
        }
        if (response.status === 401) options.onUnauthorized?.();
        if (!response.ok || !response.body) throw new Error(`GET ${options.url} answered ${response.status}`);
        options.onStatus('open');
        const parser = new SseParser();
        parser.lastEventId = lastEventId;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of parser.feed(value)) {
            lastEventId = parser.lastEventId;
            options.onMessage(message);
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        options.onStatus('reconnecting', err instanceof Error ? err.message : String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  };
  void run();
  return () => controller.abort();
}
